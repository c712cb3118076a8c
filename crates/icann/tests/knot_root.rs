//! Happy paths against a real Knot stand-in for the ICANN root: a secure delegation with DS, an
//! insecure one proven by NSEC, an NSEC-proven NXDOMAIN, caching, and the trust anchor and
//! broken-signature checks that must refuse a real but untrusted or bogus root.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{ICANN_LIKE, addr, client, name, stand_in};
use hickory_proto::rr::{RData, RecordType};
use hnsfleet_icann::{Bogus, Fallback, IcannError, IcannMetrics, UPSTREAM_QUERIES};
use hnsfleet_testkit::knot::{KeyModel, Signing};

#[tokio::test]
async fn secure_insecure_and_nxdomain_from_a_real_signed_root() {
    let si = stand_in(50, 51, ICANN_LIKE).await;
    let registry = prometheus::Registry::new();
    let metrics = IcannMetrics::register(&registry).unwrap();
    let icann = client(vec![si.root.addr()], &si.root).with_metrics(metrics.clone());

    // The root keys validate from the anchor: KSK and ZSK both kept as zone keys.
    let keys = icann.root_keys().await.expect("root keys");
    assert_eq!(keys.keys().len(), 2);
    assert!(keys.ttl().as_secs() > 0);

    // com: secure delegation; the DS is the one of the real signed com zone.
    let Fallback::Delegation(com) = icann.delegation(&name("com.")).await.expect("com") else {
        panic!("com is delegated");
    };
    assert_eq!(com.ns.len(), 1);
    assert_eq!(
        com.ns[0].data,
        RData::NS(hickory_proto::rr::rdata::NS(name("ns.com.")))
    );
    assert_eq!(com.ns[0].ttl, 172800);
    let com_ds = &si.com.keys(&name("com.")).unwrap().ds;
    assert_eq!(com.ds.len(), 1);
    assert!(
        com_ds.iter().any(|d| d.data == com.ds[0].data),
        "{:?} vs {com_ds:?}",
        com.ds
    );
    assert_eq!(com.glue.len(), 1);
    assert_eq!(com.glue[0].name, name("ns.com."));
    assert_eq!(com.glue[0].data, RData::A("127.0.0.51".parse().unwrap()));
    assert!(
        [&com.ns, &com.ds, &com.glue]
            .iter()
            .all(|s| s.iter().all(|r| r.record_type() != RecordType::RRSIG)),
        "signatures stripped"
    );

    // net: insecure delegation, proven by the root's NSEC.
    let Fallback::Delegation(net) = icann.delegation(&name("NET.")).await.expect("net") else {
        panic!("net is delegated");
    };
    assert!(net.ds.is_empty());
    assert_eq!(net.ns.len(), 1);
    assert_eq!(net.glue.len(), 1);

    // nope: NXDOMAIN proven by NSEC.
    assert_eq!(
        icann.delegation(&name("nope.")).await.unwrap(),
        Fallback::NxDomain
    );
    // A name sorting after every TLD (wrap-around NSEC) too.
    assert_eq!(
        icann.delegation(&name("zzzz.")).await.unwrap(),
        Fallback::NxDomain
    );

    // Cached: asking again (any case) sends nothing upstream.
    let sent = |m: &IcannMetrics| -> u64 {
        ["ok", "bogus", "timeout", "mismatch"]
            .iter()
            .map(|l| m.upstream_queries.with_label_values(&[*l]).get())
            .sum()
    };
    let before = sent(&metrics);
    assert!(matches!(
        icann.delegation(&name("Com.")).await,
        Ok(Fallback::Delegation(_))
    ));
    assert_eq!(
        icann.delegation(&name("nope.")).await.unwrap(),
        Fallback::NxDomain
    );
    assert_eq!(sent(&metrics), before);
    assert!(
        registry
            .gather()
            .iter()
            .any(|f| f.name() == UPSTREAM_QUERIES)
    );

    // Not a TLD.
    assert!(matches!(
        icann.delegation(&name("www.com.")).await,
        Err(IcannError::NotATld(_))
    ));
}

#[tokio::test]
async fn a_root_not_matching_the_anchor_is_refused() {
    let trusted = stand_in(53, 54, ICANN_LIKE).await;
    let other = stand_in(55, 56, ICANN_LIKE).await;
    // Client trusts `trusted`'s key but talks to `other` (same zone, other keys).
    let icann = client(vec![other.root.addr()], &trusted.root);
    let err = icann.delegation(&name("com.")).await.unwrap_err();
    assert_eq!(
        err,
        IcannError::Bogus {
            qtype: RecordType::DNSKEY,
            reason: Bogus::NoAnchoredKey
        }
    );
    // The failure is cached briefly, not as a delegation.
    assert_eq!(icann.delegation(&name("com.")).await.unwrap_err(), err);
}

#[tokio::test]
async fn broken_signatures_in_a_real_root_are_refused() {
    // The root's DS signatures are broken: com is bogus, net (NSEC) still validates.
    let bad_ds = stand_in(
        57,
        58,
        Signing::Bogus {
            model: KeyModel::KskZsk,
            corrupt: RecordType::DS,
        },
    )
    .await;
    let icann = client(vec![bad_ds.root.addr()], &bad_ds.root);
    assert_eq!(
        icann.delegation(&name("com.")).await.unwrap_err(),
        IcannError::Bogus {
            qtype: RecordType::NS,
            reason: Bogus::NoValidSignature(RecordType::DS)
        }
    );
    assert!(
        matches!(icann.delegation(&name("net.")).await, Ok(Fallback::Delegation(d)) if d.ds.is_empty())
    );

    // The root's NSEC signatures are broken: insecure delegations and NXDOMAIN are unproven.
    let bad_nsec = stand_in(
        59,
        60,
        Signing::Bogus {
            model: KeyModel::KskZsk,
            corrupt: RecordType::NSEC,
        },
    )
    .await;
    let icann = client(vec![bad_nsec.root.addr()], &bad_nsec.root);
    assert_eq!(
        icann.delegation(&name("net.")).await.unwrap_err(),
        IcannError::Bogus {
            qtype: RecordType::NS,
            reason: Bogus::NoValidSignature(RecordType::NSEC)
        }
    );
    assert_eq!(
        icann.delegation(&name("nope.")).await.unwrap_err(),
        IcannError::Bogus {
            qtype: RecordType::NS,
            reason: Bogus::UnprovenNxDomain
        }
    );
    assert!(
        matches!(icann.delegation(&name("com.")).await, Ok(Fallback::Delegation(d)) if d.ds.len() == 1)
    );
    let _ = addr(0);
}
