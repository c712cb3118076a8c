//! Fuzz target `attestation` (body: `hnsfleet_fuzz_bodies::attestation`, which `cargo test` also runs over
//! the seeds): a signed tip attestation as a reorg-watchdog receives it: decoding never panics, whatever
//! decodes re-encodes to the same bytes, and verifying it never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::attestation(data);
});
