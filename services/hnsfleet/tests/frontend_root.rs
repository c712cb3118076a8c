//! The fleet's HNS root against hsd's own root server, on a real hsd regtest chain with names
//! registered through real auctions: `hnsfleet up` (follower, proof-cache and frontend in one
//! process) syncs the chain, and for every registered and absent name, and every query type a
//! root is asked, its root listener answers what hsd's does (all sections, ignoring order,
//! TTLs and signature bytes), apart from the documented deviations (hns-dns.md §8).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::dns::{comparable, query, tcp, udp};
use common::*;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[tokio::test]
async fn the_fleet_root_answers_as_hsd_root_server_does() {
    let (hsd, manifest) = prepared_hsd("frontend-root", 920).await;
    let data = tempfile::tempdir().unwrap();
    let fleet = fleet_up(
        hsd.p2p_addr().unwrap(),
        data.path(),
        &[],
        "frontend-root-up",
    )
    .await;
    let ours = fleet.addr("root").unwrap();
    let theirs = hsd.ns_addr().unwrap();
    // hsd caches root answers: compare with a fresh cache.
    hsd.rpc("resetrootcache", &[]).unwrap();

    let mut names: Vec<String> = manifest["names"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.extend(
        manifest["absent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string()),
    );
    let mut questions: Vec<(String, RecordType)> = vec![
        (".".into(), RecordType::SOA),
        (".".into(), RecordType::NS),
        (".".into(), RecordType::DNSKEY),
        (".".into(), RecordType::A),
        // The root answers ANY as hsd's does (the resolver's RFC 8482 answer is not the root's).
        (".".into(), RecordType::ANY),
    ];
    for name in &names {
        for qtype in [
            RecordType::A,
            RecordType::AAAA,
            RecordType::NS,
            RecordType::DS,
            RecordType::TXT,
            RecordType::SOA,
            RecordType::ANY,
        ] {
            questions.push((format!("{name}."), qtype));
        }
        questions.push((format!("www.{name}."), RecordType::A));
    }
    // The synthesized name servers of the SYNTH name and of the apex.
    let synth = tcp(theirs, &query("fleetsynth.", RecordType::NS, true, false)).await;
    for ns in synth.authorities.iter().filter_map(|r| match &r.data {
        hickory_proto::rr::RData::NS(ns) => Some(ns.0.to_ascii()),
        _ => None,
    }) {
        questions.push((ns.clone(), RecordType::A));
        questions.push((ns, RecordType::AAAA));
    }
    questions.push(("_synth.".into(), RecordType::A));

    let mut compared = 0;
    let mut deviations = Vec::new();
    let mut mismatches = Vec::new();
    for (name, qtype) in &questions {
        for dnssec_ok in [true, false] {
            let asked = query(name, *qtype, dnssec_ok, false);
            let hsd_answer = tcp(theirs, &asked).await;
            let our_answer = tcp(ours, &asked).await;
            // Deviation (hns-dns.md §2.3, §8): below a TLD without name servers, hsd answers
            // NOERROR with the NSEC denial; the fleet answers NXDOMAIN with the same records.
            if hsd_answer.response_code == ResponseCode::NoError
                && our_answer.response_code == ResponseCode::NXDomain
                && name.starts_with("www.")
            {
                assert_eq!(hsd_answer.authorities.len(), our_answer.authorities.len());
                deviations.push(format!("{name} {qtype}"));
                continue;
            }
            let (a, b) = (comparable(&hsd_answer), comparable(&our_answer));
            if a != b {
                mismatches.push(format!(
                    "{name} {qtype} do={dnssec_ok}\n hsd: {a}\n ours: {b}"
                ));
            }
            compared += 1;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
    assert!(compared > 100, "only {compared} answers compared");
    // The deviation list is what the docs say it is: names below TLDs without NS.
    assert!(
        deviations.iter().all(|d| d.starts_with("www.")),
        "{deviations:?}"
    );

    // The same answers over UDP, with the query's ID and case.
    let mut asked = query("FleetNS.", RecordType::NS, true, false);
    asked.metadata.id = 999;
    let over_udp = udp(ours, &asked).await;
    assert_eq!(over_udp.id, 999);
    assert_eq!(over_udp.queries[0].name().to_ascii(), "FleetNS.");
    assert_eq!(comparable(&over_udp), comparable(&tcp(ours, &asked).await));
}
