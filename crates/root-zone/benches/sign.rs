//! RRSIG cost: signing one DS set (the TLD DS answer of hns-dns.md §2.3's `full.` example) and
//! a whole signed NXDOMAIN answer (three RRSIGs), at a fixed second.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::OpCode;
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hnsfleet_hns::resource::Resource;
use hnsfleet_root_zone::{KeyRole, Query, RootZone, TldState, rrsig};

const NOW: u64 = 1_700_000_000;

const FULL_DS: &str = r#"{"records":[{"type":"DS","keyTag":57355,"algorithm":8,"digestType":2,"digest":"95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2"},{"type":"NS","ns":"ns1.full."}]}"#;

fn query(name: &str, qtype: RecordType) -> Option<Query> {
    Some(Query {
        name: Name::from_ascii(name).ok()?,
        qtype,
        qclass: DNSClass::IN,
        opcode: OpCode::Query,
        dnssec_ok: true,
    })
}

fn bench(c: &mut Criterion) {
    let zone = RootZone::new(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let Some(data) = Resource::from_json(FULL_DS)
        .ok()
        .and_then(|r| r.encode().ok())
    else {
        return;
    };
    let (Some(ds_query), Some(nx_query)) = (
        query("full.", RecordType::DS),
        query("nosuchname.", RecordType::A),
    ) else {
        return;
    };
    let Ok(ds_answer) = zone.answer(&ds_query, TldState::Exists(&data), NOW) else {
        return;
    };
    let Some(ds_set) = ds_answer.answer.first().map(|set| set.records.clone()) else {
        return;
    };
    let Ok(nx_answer) = zone.answer(&nx_query, TldState::Absent, NOW) else {
        return;
    };

    let mut group = c.benchmark_group("rrsig");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign_ds_set", |b| {
        b.iter(|| rrsig(black_box(&ds_set), KeyRole::Zsk, black_box(NOW)))
    });
    group.bench_function("nxdomain_into_records", |b| {
        b.iter(|| black_box(nx_answer.clone()).into_records(black_box(NOW)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
