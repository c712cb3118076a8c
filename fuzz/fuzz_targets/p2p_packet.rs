//! Fuzz target `p2p_packet` (body: `hnsfleet_fuzz_bodies::p2p_packet`, which `cargo test` also runs over
//! the seeds): a p2p packet (type byte, then payload): never panics, and whatever decodes
//! re-encodes to the same payload.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::p2p_packet(data);
});
