//! Resource decoding and conversion to referral records, on real resources: hsd's R1 test
//! resource (hns-dns.md §1.6) and the two resources registered on the regtest node.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::rr::Name;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns_dns::ResourceDns as _;

const R1_HEX: &str = "0000e00b08022095a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e201036e733103686e730002036e7332c02c7f00000103036e7334c02c00000000000000000000000000000001047f000002050000000000000000000000000000000206010b68656c6c6f20776f726c64";

const REGTEST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../hns/testdata/regtest/regtest-names-proofs.json"
));

/// `(label, tld, blob)` for every real resource.
fn vectors() -> Vec<(String, Name, Vec<u8>)> {
    let mut out = Vec::new();
    if let (Ok(raw), Ok(tld)) = (hex::decode(R1_HEX), Name::from_ascii("hns.")) {
        out.push(("r1".to_string(), tld, raw));
    }
    let json: serde_json::Value = serde_json::from_str(REGTEST).unwrap_or_default();
    for name in json["names"].as_array().into_iter().flatten() {
        let (Some(label), Some(raw)) = (name["name"].as_str(), name["resourceRaw"].as_str()) else {
            continue;
        };
        if let (Ok(raw), Ok(tld)) = (hex::decode(raw), Name::from_ascii(format!("{label}."))) {
            out.push((label.to_string(), tld, raw));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("resource_dns");
    group.throughput(Throughput::Elements(1));
    for (label, tld, raw) in vectors() {
        group.bench_function(format!("decode/{label}"), |b| {
            b.iter(|| Resource::decode(black_box(&raw)))
        });
        group.bench_function(format!("decode+referral/{label}"), |b| {
            b.iter(|| {
                Resource::decode(black_box(&raw))
                    .map(|res| (res.referral(&tld), res.txt_records(&tld)))
            })
        });
        if let Ok(res) = Resource::decode(&raw) {
            group.bench_function(format!("encode/{label}"), |b| {
                b.iter(|| black_box(&res).encode())
            });
            group.bench_function(format!("to_json/{label}"), |b| {
                b.iter(|| black_box(&res).to_json())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
