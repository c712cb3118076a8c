//! Fuzz target `p2p_frame` (body: `hnsfleet_fuzz_bodies::p2p_frame`, which `cargo test` also runs over
//! the seeds): a stream of p2p frames: never panics, and every frame and packet that decodes
//! re-encodes to the same bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::p2p_frame(data);
});
