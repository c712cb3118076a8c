//! The hnsd mainnet checkpoint blob: 150 real headers 136000..136149.

use hnsfleet_fuzz_bodies as fuzz;

use super::*;

fn blob_json() -> Value {
    serde_json::from_str(BLOB_JSON).unwrap()
}

fn blob_entries() -> Vec<ChainEntry> {
    CheckpointBlob::decode(BLOB)
        .unwrap()
        .verify(main_params())
        .unwrap()
}

#[test]
fn decodes_and_verifies_against_the_json() {
    let blob = CheckpointBlob::decode(BLOB).unwrap();
    let v = blob_json();
    assert_eq!(blob.start_height, 136_000);
    assert_eq!(
        hex::encode(blob.prev_chainwork.to_be_bytes()),
        v["chainworkBeforeStart"].as_str().unwrap()
    );
    assert_eq!(blob.headers.len(), 150);
    assert_eq!(blob.encode(), BLOB);
    assert!(fuzz::checkpoint_blob(BLOB));

    let entries = blob.verify(main_params()).unwrap();
    let expected = v["headers"].as_array().unwrap();
    assert_eq!(entries.len(), expected.len());
    for (e, x) in entries.iter().zip(expected) {
        assert_eq!(u64::from(e.height), x["height"].as_u64().unwrap());
        assert_eq!(e.hash.to_hex(), x["hash"].as_str().unwrap());
        assert_eq!(e.bits, hex_u32(&x["bits"]));
        assert_eq!(e.time, x["time"].as_u64().unwrap());
        assert_eq!(e.tree_root.to_hex(), x["treeRoot"].as_str().unwrap());
        assert_eq!(
            hex::encode(e.chainwork.to_be_bytes()),
            x["chainwork"].as_str().unwrap(),
            "chainwork at {}",
            e.height
        );
    }
}

#[test]
fn linkage_pow_and_chainwork_accumulation() {
    let blob = CheckpointBlob::decode(BLOB).unwrap();
    let entries = blob_entries();
    let mut work = blob.prev_chainwork;
    for (i, (header, entry)) in blob.headers.iter().zip(&entries).enumerate() {
        assert_eq!(header.verify_pow(), Ok(entry.hash));
        if i > 0 {
            assert_eq!(header.prev_block, entries[i - 1].hash);
        }
        work = work + Chainwork::from_bits(header.bits);
        assert_eq!(entry.chainwork, work);
    }
}

#[test]
fn retarget_reproduces_real_bits() {
    let p = main_params();
    let entries = blob_entries();
    let want = [
        (136_147u32, 0x1904_9fedu32),
        (136_148, 0x1904_8e73),
        (136_149, 0x1904_9cb4),
    ];
    for (height, bits) in want {
        let i = (height - 136_000) as usize;
        let view = SliceView::new(136_000, &entries[..i]);
        let parent = &entries[i - 1];
        assert_eq!(
            expected_bits(p, &view, parent, entries[i].time),
            Ok(bits),
            "{height}"
        );
    }
    // One block earlier the 144-block lookback reaches below the blob.
    let view = SliceView::new(136_000, &entries[..146]);
    assert_eq!(
        expected_bits(p, &view, &entries[145], entries[146].time),
        Err(ChainError::MissingAncestor { height: 135_999 })
    );
}

#[test]
fn validate_next_accepts_the_last_headers_with_full_context() {
    let p = main_params();
    let blob = CheckpointBlob::decode(BLOB).unwrap();
    let entries = blob_entries();
    for i in 147..150 {
        let view = SliceView::new(136_000, &entries[..i]);
        let now = blob.headers[i].time + 60;
        let got = validate_next(p, &view, &entries[i - 1], &blob.headers[i], now).unwrap();
        assert_eq!(got, entries[i]);
        assert!(is_synced(p, &got, now));
    }
}

#[test]
fn median_time_past_of_real_headers() {
    let entries = blob_entries();
    let view = SliceView::new(136_000, &entries);
    for i in 10..entries.len() {
        let mut times: Vec<u64> = entries[i - 10..=i].iter().map(|e| e.time).collect();
        times.sort_unstable();
        assert_eq!(median_time_past(&view, &entries[i]), Ok(times[5]));
        if let Some(next) = entries.get(i + 1) {
            assert!(next.time > times[5]);
        }
    }
    assert_eq!(
        median_time_past(&view, &entries[5]),
        Err(ChainError::MissingAncestor { height: 135_999 })
    );
}

#[test]
fn tree_root_changes_only_after_commitments() {
    let entries = blob_entries();
    let interval = main_params().names.tree_interval;
    let changes: Vec<u32> = entries
        .windows(2)
        .filter(|w| w[0].tree_root != w[1].tree_root)
        .map(|w| w[1].height)
        .collect();
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|h| h % interval == 1), "{changes:?}");
    assert_eq!(changes.first(), Some(&136_009));
}

#[test]
fn safe_root_and_synced_on_mainnet() {
    let p = main_params();
    let entries = blob_entries();
    let view = SliceView::new(136_000, &entries);
    let tip = entries.last().unwrap();
    // 136149 mod 36 = 33 ≥ 12: the tip's own root.
    assert_eq!(
        safe_root(p, &view, tip),
        Ok(SafeRoot {
            height: 136_149,
            tree_root: tip.tree_root
        })
    );
    // 136120 mod 36 = 4: the root of header 136116.
    let at = &entries[120];
    assert_eq!(safe_root(p, &view, at).map(|s| s.height), Ok(136_116));
    assert_eq!(
        safe_root(p, &view, at).unwrap().tree_root,
        entries[116].tree_root
    );

    assert!(tip.chainwork >= p.pow.min_chainwork);
    assert!(is_synced(p, tip, tip.time + 12 * 3600));
    assert!(!is_synced(p, tip, tip.time + 12 * 3600 + 1));
    let mut weak = *tip;
    weak.chainwork = Chainwork::from_bits(p.pow.limit_bits);
    assert!(!is_synced(p, &weak, tip.time));
}

#[test]
fn blob_decode_errors_are_typed() {
    for n in [0, 3, 4, 35, 36, 37, 36 + 235, BLOB.len() - 1] {
        fuzz::checkpoint_blob(&BLOB[..n]);
        let err = CheckpointBlob::decode(&BLOB[..n]).unwrap_err();
        assert!(
            matches!(
                err,
                ChainError::BlobDecode(DecodeError::Eof { .. } | DecodeError::Malformed { .. })
            ),
            "{n}: {err:?}"
        );
    }
    // Exactly the prefix: no headers.
    assert!(matches!(
        CheckpointBlob::decode(&BLOB[..36]),
        Err(ChainError::BlobDecode(DecodeError::Malformed { .. }))
    ));
    // Start height 0.
    let mut zero = BLOB.to_vec();
    zero[..4].copy_from_slice(&[0; 4]);
    assert!(matches!(
        CheckpointBlob::decode(&zero),
        Err(ChainError::BlobDecode(DecodeError::Malformed { .. }))
    ));
    let mut extra = BLOB.to_vec();
    extra.push(0);
    assert!(matches!(
        CheckpointBlob::decode(&extra),
        Err(ChainError::BlobDecode(DecodeError::Eof { .. }))
    ));
}

#[test]
fn blob_byte_flips_fail_verification_or_change_the_value() {
    let original = CheckpointBlob::decode(BLOB).unwrap();
    let p = main_params();
    // Every prefix byte, then a spread of header bytes across all 150 headers (every byte of
    // every header would be 35k full verifications).
    let positions = (0..36).chain((36..BLOB.len()).step_by(59));
    for i in positions {
        let mut mutated = BLOB.to_vec();
        mutated[i] ^= 0x5a;
        fuzz::checkpoint_blob(&mutated);
        match CheckpointBlob::decode(&mutated) {
            Ok(blob) if i < 36 => {
                // Height or starting chainwork changed: a different, still well-formed blob.
                assert_ne!(blob, original);
            }
            Ok(blob) => {
                let err = blob.verify(p).unwrap_err();
                assert!(
                    matches!(
                        err,
                        ChainError::InvalidPow(_) | ChainError::PrevMismatch { .. }
                    ),
                    "{i}: {err:?}"
                );
            }
            Err(err) => assert!(matches!(err, ChainError::BlobDecode(_)), "{i}: {err:?}"),
        }
    }
}

#[test]
fn mainnet_header_flips_never_validate() {
    let p = main_params();
    let blob = CheckpointBlob::decode(BLOB).unwrap();
    let entries = blob_entries();
    let i = 148;
    let view = SliceView::new(136_000, &entries[..i]);
    let now = blob.headers[i].time + 60;
    let bytes = blob.headers[i].encode();
    for pos in 0..bytes.len() {
        let mut mutated = bytes;
        mutated[pos] ^= 0x01;
        let header = Header::decode(&mutated).unwrap();
        let err = validate_next(p, &view, &entries[i - 1], &header, now).unwrap_err();
        match err {
            ChainError::PrevMismatch { .. } => assert!((12..44).contains(&pos)),
            ChainError::InvalidPow(_) => assert!(err.ban_worthy()),
            other => panic!("byte {pos}: {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn blob_round_trips(
        start in 1u32..u32::MAX - 8,
        work in any::<[u8; 32]>(),
        raw in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 236), 1..5),
    ) {
        let headers: Vec<Header> = raw.iter().map(|b| Header::decode(b).unwrap()).collect();
        let blob = CheckpointBlob {
            start_height: start,
            prev_chainwork: Chainwork::from_be_bytes(work),
            headers,
        };
        let bytes = blob.encode();
        prop_assert_eq!(CheckpointBlob::decode(&bytes), Ok(blob));
        prop_assert!(fuzz::checkpoint_blob(&bytes));
    }
}
