//! Fuzz target `proof_bundle` (body: `hnsfleet_fuzz_bodies::proof_bundle`, which `cargo test`
//! also runs over the seeds): a proof bundle as a client receives it from a frontend: decoding
//! never panics, whatever decodes round-trips, and verifying a response carrying it never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::proof_bundle(data);
});
