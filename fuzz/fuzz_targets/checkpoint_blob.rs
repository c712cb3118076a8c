//! Fuzz target `checkpoint_blob` (body: `hnsfleet_fuzz_bodies::checkpoint_blob`, which `cargo test` also runs over
//! the seeds): an hnsd checkpoint blob: never panics, and whatever decodes re-encodes to the
//! same bytes and decodes to an equal value.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::checkpoint_blob(data);
});
