#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::BlockHash;
use proptest::prelude::*;

use super::*;

/// A real bundle: `www.fleetns. A` from `hnsfleet up` on an hsd regtest chain, written by
/// `services/hnsfleet/tests/bundle_e2e.rs` (`HNSFLEET_SEED_DIR`); also the fuzz seed.
const REAL: &[u8] = include_bytes!("../../../fuzz/seeds/proof_bundle/www-fleetns-regtest");

/// The whole response that carried [`REAL`] (answer, RRSIG and bundle), from the same run.
const RESPONSE: &[u8] = include_bytes!("../testdata/www-fleetns-response.bin");

fn real() -> Bundle {
    Bundle::decode(REAL).unwrap()
}

/// A response to `www.fleetns. A` carrying `bundle` and no records.
fn response_with(bundle: &Bundle) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(
        Name::from_ascii("www.fleetns.").unwrap(),
        RecordType::A,
    ));
    encode_into(&mut message, bundle).unwrap();
    message
}

/// The time the real bundle was made (its last header's).
fn made_at(bundle: &Bundle) -> u64 {
    bundle.headers.last().unwrap().time
}

fn failed_step(report: &Report) -> Option<Step> {
    report.failure().map(|(step, _)| step)
}

#[test]
fn the_real_bundle_round_trips_byte_for_byte() {
    let bundle = real();
    assert_eq!(bundle.network, Network::Regtest);
    assert_eq!(bundle.tld, "fleetns");
    assert_eq!(bundle.headers[0].tree_root, bundle.tree_root);
    assert_eq!(bundle.encode().unwrap(), REAL);
}

#[test]
fn every_truncation_and_trailing_byte_is_refused() {
    for len in 0..REAL.len() {
        assert!(Bundle::decode(&REAL[..len]).is_err(), "truncated to {len}");
    }
    let mut longer = REAL.to_vec();
    longer.push(0);
    assert_eq!(Bundle::decode(&longer), Err(DecodeError::Trailing(1)));
}

#[test]
fn every_byte_flip_decodes_to_something_else_or_fails_without_a_panic() {
    for i in 0..REAL.len() {
        let mut bytes = REAL.to_vec();
        bytes[i] ^= 0x40;
        if let Ok(decoded) = Bundle::decode(&bytes) {
            // (hickory's record equality ignores TTLs: compare the bytes.)
            assert!(
                decoded.encode().unwrap() != REAL,
                "flip at {i} went unnoticed"
            );
        }
        hnsfleet_fuzz_bodies::proof_bundle(&bytes);
    }
}

#[test]
fn counts_beyond_the_bounds_are_refused_before_reading() {
    let mut bundle = real();
    let header = bundle.headers[0].clone();
    bundle.headers = vec![header; MAX_BUNDLE_HEADERS + 1];
    assert!(matches!(
        bundle.encode(),
        Err(DecodeError::TooLarge {
            what: "headers",
            ..
        })
    ));
    // A header count of 0xffff in otherwise short bytes: refused by the bound, not by reading.
    let at = 1 + 4 + 1 + bundle.tld.len() + 32 + 4;
    let mut bytes = REAL.to_vec();
    bytes[at] = 0xff;
    bytes[at + 1] = 0xff;
    assert!(matches!(
        Bundle::decode(&bytes),
        Err(DecodeError::TooLarge {
            what: "headers",
            ..
        })
    ));
}

#[test]
fn the_real_response_verifies_in_every_step() {
    let response = Message::from_vec(RESPONSE).unwrap();
    let bundle = bundle_of(&response).unwrap();
    assert_eq!(bundle, real());
    let report = verify(
        &response,
        &Policy::for_network(Network::Regtest),
        made_at(&bundle),
        None,
    );
    assert!(report.is_verified(), "{report:#?}");
    assert_eq!(report.steps.len(), Step::ALL.len());
    // Any altered answer byte: the answer no longer verifies.
    let mut forged = response.clone();
    let record = forged
        .answers
        .iter_mut()
        .find(|r| r.record_type() == RecordType::A)
        .unwrap();
    record.data = RData::A("10.0.0.1".parse().unwrap());
    let report = verify(
        &forged,
        &Policy::for_network(Network::Regtest),
        made_at(&bundle),
        None,
    );
    assert_eq!(failed_step(&report), Some(Step::Answer));
}

#[test]
fn the_real_bundle_verifies_up_to_the_answer() {
    let bundle = real();
    let policy = Policy::for_network(Network::Regtest);
    let report = verify(&response_with(&bundle), &policy, made_at(&bundle), None);
    // No answer records in this response: every step before the answer holds.
    assert_eq!(failed_step(&report), Some(Step::Answer), "{report:#?}");
    for step in [
        Step::Bundle,
        Step::Headers,
        Step::Root,
        Step::Proof,
        Step::Delegation,
        Step::Dnssec,
    ] {
        assert!(
            matches!(report.verdict(step), Some(Verdict::Passed(_))),
            "{step}: {report:#?}"
        );
    }
}

#[test]
fn each_part_is_checked_by_its_step() {
    let bundle = real();
    let now = made_at(&bundle);
    let policy = Policy::for_network(Network::Regtest);
    let check = |change: &dyn Fn(&mut Bundle)| {
        let mut altered = bundle.clone();
        change(&mut altered);
        failed_step(&verify(&response_with(&altered), &policy, now, None))
    };
    assert_eq!(check(&|b| b.network = Network::Main), Some(Step::Bundle));
    assert_eq!(check(&|b| b.headers[0].nonce ^= 1), Some(Step::Headers));
    assert_eq!(
        check(&|b| b.headers[1].prev_block = BlockHash([7; 32])),
        Some(Step::Headers)
    );
    assert_eq!(check(&|b| b.headers.truncate(2)), Some(Step::Headers));
    assert_eq!(check(&|b| b.tree_root.0[31] ^= 1), Some(Step::Root));
    assert_eq!(check(&|b| b.tld = "fleetglue".into()), Some(Step::Proof));
    assert_eq!(
        check(&|b| {
            let last = b.proof.len() - 1;
            b.proof[last] ^= 1;
        }),
        Some(Step::Proof)
    );
    // The DS set the root signed is replaced by another one: not the proof's.
    assert_eq!(
        check(&|b| b.records.retain(|r| r.record_type() != RecordType::DS)),
        Some(Step::Delegation)
    );
    assert_eq!(
        check(&|b| b
            .records
            .retain(|r| r.record_type() != RecordType::DNSKEY || r.name.is_root())),
        Some(Step::Dnssec)
    );
    // Headers from the future are refused.
    let report = verify(&response_with(&bundle), &policy, now - 3 * 60 * 60, None);
    assert_eq!(failed_step(&report), Some(Step::Headers));
}

#[test]
fn mainnet_headers_must_meet_the_floor_and_regtest_the_limit() {
    let bundle = real();
    let mut header = bundle.headers[0].clone();
    // Regtest: bits other than the limit are refused even when the hash meets them.
    header.bits = 0x207f_fffe;
    let mut policy = Policy::for_network(Network::Regtest);
    policy.min_headers = 1;
    let mut one = bundle.clone();
    one.headers = vec![header];
    let report = verify(&response_with(&one), &policy, made_at(&bundle), None);
    assert_eq!(failed_step(&report), Some(Step::Headers), "{report:#?}");
    // Mainnet's floor is far above regtest's limit: a regtest-easy header fails it.
    let main = Policy::for_network(Network::Main);
    assert!(main.max_target.unwrap() < Network::Regtest.params().pow.limit_target);
    assert_eq!(main.min_headers, 12);
    assert_eq!(
        Policy::for_network(Network::Regtest).min_headers,
        Network::Regtest.params().names.tree_interval as usize
    );
}

/// A chain the client keeps, holding one hash at one height.
struct OneHeader(u32, BlockHash);

impl KnownChain for OneHeader {
    fn hash_at(&self, height: u32) -> Option<BlockHash> {
        (height == self.0).then_some(self.1)
    }
}

#[test]
fn a_known_chain_must_hold_the_first_header() {
    let bundle = real();
    let policy = Policy::for_network(Network::Regtest);
    let now = made_at(&bundle);
    let response = response_with(&bundle);
    let first = bundle.headers[0].hash();
    let same = OneHeader(bundle.first_height, first);
    let report = verify(&response, &policy, now, Some(&same));
    assert!(
        matches!(report.verdict(Step::Headers), Some(Verdict::Passed(d)) if d.contains("our own chain"))
    );
    let other = OneHeader(bundle.first_height, BlockHash([1; 32]));
    let report = verify(&response, &policy, now, Some(&other));
    assert_eq!(failed_step(&report), Some(Step::Headers));
    let short = OneHeader(0, first);
    let report = verify(&response, &policy, now, Some(&short));
    assert_eq!(failed_step(&report), Some(Step::Headers));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Bundle::decode(&bytes);
        hnsfleet_fuzz_bodies::proof_bundle(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_prefix_never_panic(
        cut in 0usize..2788,
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = REAL[..cut.min(REAL.len())].to_vec();
        bytes.extend_from_slice(&tail);
        hnsfleet_fuzz_bodies::proof_bundle(&bytes);
    }
}
