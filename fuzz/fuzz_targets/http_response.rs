//! Fuzz target `http_response` (body: `hnsfleet_fuzz_bodies::http_response`, which `cargo test`
//! also runs over the seeds): a DoH server's HTTP/1.1 response as the client parses it: never
//! panics, and whatever parses prints canonically and parses back to the same value.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::http_response(data);
});
