//! Fuzz target: `hnsfleet_hns::hnsconf::fuzz_hnsconf` must never panic on arbitrary bytes, and whatever
//! decodes must re-encode to an equal value.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_hns::hnsconf::fuzz_hnsconf(data);
});
