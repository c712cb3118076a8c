//! Fuzz target `packet_cache` (body: `hnsfleet_fuzz_bodies::packet_cache`, which `cargo test`
//! also runs over the seeds): client bytes keyed, stored and replayed by the frontend's packet
//! cache never panic, and a replay carries the asker's ID.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hnsfleet_fuzz_bodies::packet_cache(data);
});
