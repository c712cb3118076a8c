//! Fuzz target `header` (body: `hnsfleet_fuzz_bodies::header`, which `cargo test` also runs over
//! the seeds): a 236-byte block header: never panics, whatever decodes re-encodes to the same bytes,
//! and hashing and the PoW check never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::header(data);
});
