//! Fuzz target `resource` (body: `hnsfleet_fuzz_bodies::resource`, which `cargo test` also runs over
//! the seeds): a name resource: never panics, converts to DNS records and hsd's JSON without
//! panicking, and round-trips through its encoding and its JSON.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::resource(data);
});
