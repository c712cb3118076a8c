//! Fuzz target `dns_query` (body: `hnsfleet_fuzz_bodies::dns_query`, which `cargo test` also
//! runs over the seeds): bytes a resolver receives from a client: deciding what to do with them
//! never panics, and every response built for them encodes within its limit.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::dns_query(data);
});
