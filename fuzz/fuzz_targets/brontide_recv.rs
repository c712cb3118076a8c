//! Fuzz target `brontide_recv` (body: `hnsfleet_fuzz_bodies::brontide_recv`, which `cargo test` also runs over
//! the seeds): arbitrary bytes from a brontide peer after the handshake never panic the
//! receiving side, and nothing unauthenticated comes out.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::brontide_recv(data);
});
