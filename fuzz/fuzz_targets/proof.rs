//! Fuzz target `proof` (body: `hnsfleet_fuzz_bodies::proof`, which `cargo test` also runs over
//! the seeds): an Urkel proof: never panics, whatever decodes re-encodes to the same bytes, and
//! verification never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::proof(data);
});
