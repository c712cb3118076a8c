//! Fuzz target `sig0` (body: `hnsfleet_fuzz_bodies::sig0`, which `cargo test` also runs over
//! the seeds): a DNS message for SIG(0): verifying never panics, and whatever can be signed
//! verifies.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::sig0(data);
});
