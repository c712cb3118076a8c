//! Fuzz target: `hnsfleet_brontide::fuzz_recv` — arbitrary bytes from a brontide peer after the
//! handshake must never panic the receiving side, and nothing unauthenticated comes out.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_brontide::fuzz_recv(data);
});
