//! Runs every fuzz body over the committed seed corpus (`fuzz/seeds/<target>/`, built from the
//! real vectors by `scripts/make-fuzz-seeds.py`): no seed may crash a body, and every seed must
//! be accepted by its decoder, so the corpus reaches the round trips and not just the first
//! length check. Also keeps the bodies, the seed directories and the cargo-fuzz targets in
//! step: a target without a body or seeds fails here, not in a fuzz run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hnsfleet_fuzz_bodies::BODIES;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn every_seed_is_accepted_by_its_body() {
    for (target, body) in BODIES {
        let dir = fuzz_dir().join("seeds").join(target);
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            assert!(body(&data), "{target}: seed {} is rejected", path.display());
            seeds += 1;
        }
        assert!(seeds > 0, "{target}: no seeds in {}", dir.display());
    }
}

#[test]
fn bodies_seed_dirs_and_fuzz_targets_match() {
    let bodies: BTreeSet<String> = BODIES.iter().map(|(t, _)| t.to_string()).collect();
    let seed_dirs: BTreeSet<String> = std::fs::read_dir(fuzz_dir().join("seeds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(seed_dirs, bodies, "seed directories");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let targets: BTreeSet<String> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| {
            let line = bin.lines().find(|l| l.trim_start().starts_with("name"))?;
            Some(line.split('"').nth(1)?.to_string())
        })
        .collect();
    assert_eq!(targets, bodies, "[[bin]] targets in fuzz/Cargo.toml");
    for target in &targets {
        let source =
            std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{target}.rs"))).unwrap();
        assert!(
            source.contains(&format!("hnsfleet_fuzz_bodies::{target}(data)")),
            "fuzz_targets/{target}.rs does not call its body"
        );
    }
}
