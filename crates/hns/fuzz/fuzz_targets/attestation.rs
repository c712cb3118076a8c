//! Fuzz target: `hnsfleet_attestation::fuzz_attestation` must never panic on arbitrary bytes
//! (a signed tip attestation as a reorg-watchdog receives it), and whatever decodes must
//! re-encode to the same bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_attestation::fuzz_attestation(data);
});
