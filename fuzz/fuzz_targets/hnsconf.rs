//! Fuzz target `hnsconf` (body: `hnsfleet_fuzz_bodies::hnsconf`, which `cargo test` also runs over
//! the seeds): `hns.conf` text: never panics, and whatever parses prints to a canonical text that
//! parses back to the same value.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::hnsconf(data);
});
