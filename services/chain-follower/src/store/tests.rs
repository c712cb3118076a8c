//! Store tests: round trip, torn tails at every byte offset, flipped bytes, partial writes,
//! reorg truncation, and the file-header checks.

use super::*;
use crate::synthetic::mine_chain;
use hnsfleet_hns::params::Network;

const NOW: u64 = 4_000_000_000;
const MAIN_BLOB: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/hns/testdata/hnsd-checkpoint-main-136000.bin"
));

fn regtest() -> &'static NetworkParams {
    Network::Regtest.params()
}

/// A store at `path` holding `n` mined regtest headers; returns the headers.
fn populated(path: &Path, n: usize) -> Vec<Header> {
    let (mut store, mut chain, rec) = Store::open(path, regtest(), &Start::Genesis).unwrap();
    assert!(rec.created);
    let headers = mine_chain(regtest(), &chain.tip(), n, 600, 0);
    for h in &headers {
        let out = chain.insert(h.clone(), NOW).unwrap();
        store.apply(h, &out).unwrap();
    }
    headers
}

fn reopen(path: &Path) -> (Store, HeaderChain, Recovery) {
    Store::open(path, regtest(), &Start::Genesis).unwrap()
}

#[test]
fn round_trip_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    let headers = populated(&path, 40);
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        (FILE_HEADER_SIZE + 40 * RECORD_SIZE) as u64
    );
    let (mut store, mut chain, rec) = reopen(&path);
    assert_eq!(
        rec,
        Recovery {
            records: 40,
            truncated_bytes: 0,
            created: false
        }
    );
    assert_eq!(chain.tip().hash, headers[39].hash());
    assert_eq!(store.next_height(), 41);
    // Resumed chains keep validating and appending.
    let more = mine_chain(regtest(), &chain.tip(), 3, 600, 0);
    for h in &more {
        let out = chain.insert(h.clone(), NOW).unwrap();
        store.apply(h, &out).unwrap();
    }
    drop(store);
    let (_, chain, _) = reopen(&path);
    assert_eq!(chain.tip().hash, more[2].hash());
}

#[test]
fn torn_tail_at_every_offset_keeps_the_intact_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    let headers = populated(&path, 6);
    let full = fs::read(&path).unwrap();
    let work = dir.path().join("cut.dat");
    // Every cut inside the last two records.
    let from = FILE_HEADER_SIZE + 4 * RECORD_SIZE;
    for cut in from..full.len() {
        fs::write(&work, &full[..cut]).unwrap();
        let (_, chain, rec) = reopen(&work);
        let whole = ((cut - FILE_HEADER_SIZE) / RECORD_SIZE) as u64;
        assert_eq!(rec.records, whole, "cut at {cut}");
        assert_eq!(chain.tip().height as u64, whole);
        assert_eq!(chain.tip().hash, headers[whole as usize - 1].hash());
        let kept = FILE_HEADER_SIZE as u64 + whole * RECORD_SIZE as u64;
        assert_eq!(rec.truncated_bytes, cut as u64 - kept);
        assert_eq!(fs::metadata(&work).unwrap().len(), kept);
    }
}

#[test]
fn flipped_byte_cuts_at_that_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    let headers = populated(&path, 5);
    let full = fs::read(&path).unwrap();
    let work = dir.path().join("flip.dat");
    for pos in FILE_HEADER_SIZE..full.len() {
        let mut bytes = full.clone();
        bytes[pos] ^= 0x01;
        fs::write(&work, &bytes).unwrap();
        let (_, chain, rec) = reopen(&work);
        let bad = ((pos - FILE_HEADER_SIZE) / RECORD_SIZE) as u64;
        assert_eq!(rec.records, bad, "flip at {pos}");
        if bad > 0 {
            assert_eq!(chain.tip().hash, headers[bad as usize - 1].hash());
        }
    }
}

#[test]
fn partial_and_garbage_appends_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    let headers = populated(&path, 3);
    let next = mine_chain(regtest(), &reopen(&path).1.tip(), 1, 600, 0);
    let record = encode_record(regtest().magic, 4, &next[0]);
    // A crash that persisted half a record, or the size but zeroed data.
    for tail in [record[..100].to_vec(), vec![0u8; RECORD_SIZE]] {
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&tail).unwrap();
        drop(f);
        let (_, chain, rec) = reopen(&path);
        assert_eq!((rec.records, rec.truncated_bytes), (3, tail.len() as u64));
        assert_eq!(chain.tip().hash, headers[2].hash());
    }
    // A record with a valid checksum at the wrong height is cut too.
    let misplaced = encode_record(regtest().magic, 9, &next[0]);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&misplaced).unwrap();
    drop(f);
    assert_eq!(reopen(&path).2.records, 3);
}

#[test]
fn stale_record_that_does_not_link_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    let headers = populated(&path, 4);
    // Overwrite record 3 with a checksummed header from another branch at the same height.
    let (_, chain, _) = reopen(&path);
    let other = mine_chain(regtest(), chain.entry_at(1).unwrap(), 2, 601, 5);
    let mut bytes = fs::read(&path).unwrap();
    let at = FILE_HEADER_SIZE + 2 * RECORD_SIZE;
    bytes[at..at + RECORD_SIZE].copy_from_slice(&encode_record(regtest().magic, 3, &other[1]));
    fs::write(&path, &bytes).unwrap();
    let (_, chain, rec) = reopen(&path);
    assert_eq!(
        (rec.records, rec.truncated_bytes),
        (2, 2 * RECORD_SIZE as u64)
    );
    assert_eq!(chain.tip().hash, headers[1].hash());
}

#[test]
fn reorg_truncates_then_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    populated(&path, 20);
    let (mut store, mut chain, _) = reopen(&path);
    let fork = *chain.entry_at(12).unwrap();
    let branch = mine_chain(regtest(), &fork, 10, 599, 4);
    let mut depth = None;
    for h in &branch {
        let out = chain.insert(h.clone(), NOW).unwrap();
        if let InsertOutcome::Reorg(r) = &out {
            depth = Some(r.depth);
        }
        store.apply(h, &out).unwrap();
    }
    assert_eq!(depth, Some(8));
    drop(store);
    let (_, resumed, rec) = reopen(&path);
    assert_eq!(rec.records, 22);
    assert_eq!(resumed.tip(), chain.tip());
    assert_eq!(resumed.entry_at(13).unwrap().hash, branch[0].hash());

    // Crash between the truncation and the append: the prefix up to the fork survives.
    let (mut store, _, _) = reopen(&path);
    store.truncate_to(12).unwrap();
    drop(store);
    let (_, resumed, _) = reopen(&path);
    assert_eq!(resumed.tip(), fork);
}

#[test]
fn batch_apply_writes_what_per_header_apply_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (one, batch) = (dir.path().join("one.dat"), dir.path().join("batch.dat"));
    let (mut store_one, mut chain, _) = Store::open(&one, regtest(), &Start::Genesis).unwrap();
    let (mut store_batch, _, _) = Store::open(&batch, regtest(), &Start::Genesis).unwrap();
    // Main chain of 12, a side branch from 5 that overtakes it (reorg), more extensions, and a
    // duplicate: every kind of outcome in one batch.
    let main = mine_chain(regtest(), &chain.tip(), 12, 600, 1);
    let mut results = Vec::new();
    for h in &main {
        results.push((h.clone(), chain.insert(h.clone(), NOW).unwrap()));
    }
    let fork = *chain.entry_at(5).unwrap();
    let branch = mine_chain(regtest(), &fork, 10, 601, 2);
    for h in branch.iter().chain(std::iter::once(&main[0])) {
        results.push((h.clone(), chain.insert(h.clone(), NOW).unwrap()));
    }
    assert!(
        results
            .iter()
            .any(|(_, o)| matches!(o, InsertOutcome::Reorg(_)))
    );
    assert!(
        results
            .iter()
            .any(|(_, o)| matches!(o, InsertOutcome::SideBranch { .. }))
    );
    for (h, o) in &results {
        store_one.apply(h, o).unwrap();
    }
    store_batch
        .apply_batch(results.iter().map(|(h, o)| (h, o)))
        .unwrap();
    drop((store_one, store_batch));
    assert_eq!(fs::read(&one).unwrap(), fs::read(&batch).unwrap());
    let (_, resumed, _) = Store::open(&batch, regtest(), &Start::Genesis).unwrap();
    assert_eq!(resumed.tip(), chain.tip());
    assert_eq!(resumed.tip().height, 15);
}

#[test]
fn append_must_continue_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    let headers = populated(&path, 2);
    let (mut store, _, _) = reopen(&path);
    assert!(matches!(
        store.append(5, &headers),
        Err(StoreError::HeightGap {
            expected: 3,
            got: 5
        })
    ));
}

#[test]
fn file_header_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    populated(&path, 1);
    let err = Store::open(&path, Network::Main.params(), &Start::Genesis).unwrap_err();
    assert!(matches!(err, StoreError::WrongNetwork { .. }), "{err}");

    let genesis = ChainEntry::genesis(regtest());
    let blob = CheckpointBlob {
        start_height: 3,
        prev_chainwork: genesis.chainwork,
        headers: mine_chain(regtest(), &genesis, 3, 600, 1),
    };
    let err = Store::open(&path, regtest(), &Start::Checkpoint(blob)).unwrap_err();
    assert!(matches!(err, StoreError::StartMismatch { .. }), "{err}");

    let mut bytes = fs::read(&path).unwrap();
    bytes[20] ^= 1;
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(reopen_err(&path), StoreError::CorruptFileHeader));

    let other = dir.path().join("notes.txt");
    fs::write(&other, b"not a header store at all, please keep me").unwrap();
    assert!(matches!(reopen_err(&other), StoreError::NotAStore { .. }));
    assert_eq!(
        fs::read(&other).unwrap(),
        b"not a header store at all, please keep me"
    );

    // Deleting the file is a fresh start.
    fs::remove_file(&path).unwrap();
    let (_, chain, rec) = reopen(&path);
    assert!(rec.created);
    assert_eq!(chain.tip().height, 0);
}

fn reopen_err(path: &Path) -> StoreError {
    Store::open(path, regtest(), &Start::Genesis).unwrap_err()
}

#[test]
fn checkpoint_start_stores_the_blob_headers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    let blob = CheckpointBlob::decode(MAIN_BLOB).unwrap();
    let params = Network::Main.params();
    let start = Start::Checkpoint(blob.clone());
    let (store, chain, rec) = Store::open(&path, params, &start).unwrap();
    assert!(rec.created);
    assert_eq!(store.next_height(), 136_150);
    assert_eq!(chain.tip().height, 136_149);
    drop(store);

    // Cut inside the blob records: they are re-written from the configuration.
    let len = fs::metadata(&path).unwrap().len();
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 30 * RECORD_SIZE as u64 - 7).unwrap();
    drop(f);
    let (store, resumed, rec) = Store::open(&path, params, &start).unwrap();
    assert_eq!(rec.records, 119);
    assert_eq!(store.next_height(), 136_150);
    assert_eq!(resumed.tip(), chain.tip());
    drop(store);
    assert_eq!(fs::metadata(&path).unwrap().len(), len);
    assert_eq!(Store::open(&path, params, &start).unwrap().2.records, 150);
}
