//! Fuzz target: `hnsfleet_hns::chain::fuzz_checkpoint_blob` must never panic on arbitrary bytes, and whatever
//! decodes must re-encode to an equal value.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_hns::chain::fuzz_checkpoint_blob(data);
});
