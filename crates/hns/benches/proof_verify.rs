//! Urkel proof verification throughput on the real proofs produced by hsd (regtest vectors):
//! decode + verify of EXISTS proofs (with name-state decoding, as services do it) and of the
//! SHORT/COLLISION/DEADEND absence proofs. Target: ≥ 100,000 verifications/s on one core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_hns::urkel::{Proof, verify_name_proof};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-names-proofs.json"
));

struct Case {
    label: String,
    root: TreeRoot,
    key: NameHash,
    proof: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(VECTORS) else {
        return Vec::new();
    };
    let tip = v["proofRoot"].as_str().unwrap_or_default().to_string();
    let entries = v["names"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(v["absent"].as_array().into_iter().flatten());
    entries
        .filter_map(|e| {
            let root = TreeRoot::from_hex(e["root"].as_str().unwrap_or(&tip)).ok()?;
            let key = NameHash::from_hex(e["nameHash"].as_str()?).ok()?;
            let proof = hex::decode(e["proof"].as_str()?).ok()?;
            let kind = e["type"].as_str().unwrap_or("TYPE_EXISTS");
            let label = format!(
                "{}_{}",
                kind.trim_start_matches("TYPE_").to_lowercase(),
                e["name"].as_str()?
            );
            Some(Case {
                label,
                root,
                key,
                proof,
            })
        })
        .collect()
}

fn proof_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("proof");
    group.throughput(Throughput::Elements(1));
    for case in cases() {
        group.bench_function(format!("decode_verify_{}", case.label), |b| {
            b.iter(|| {
                black_box(verify_name_proof(
                    &case.root,
                    &case.key,
                    black_box(&case.proof),
                ))
            })
        });
    }
    if let Some(case) = cases().into_iter().next()
        && let Ok(proof) = Proof::decode(&case.proof)
    {
        group.bench_function("verify_only_exists", |b| {
            b.iter(|| black_box(proof.verify(&case.root, &case.key)))
        });
    }
    group.finish();
}

criterion_group!(benches, proof_verify);
criterion_main!(benches);
