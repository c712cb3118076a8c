//! Fuzz target `namestate` (body: `hnsfleet_fuzz_bodies::namestate`, which `cargo test` also runs over
//! the seeds): a name state from the tree: never panics, and whatever decodes re-encodes to the
//! same bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::namestate(data);
});
