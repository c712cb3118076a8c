use std::collections::HashMap;

use super::*;
use crate::wire::parse_response;

fn tables(hot_fraction: f64, seed: u64) -> Arc<MixTables> {
    let lists = NameLists {
        hns: vec![encode_name("alpha").unwrap(), encode_name("beta").unwrap()],
        below: vec![encode_name("www.alpha").unwrap()],
        icann: vec![encode_name("example.com").unwrap()],
    };
    MixTables::new(
        MixSpec::parse("hns=40,below=30,icann=20,nx=10").unwrap(),
        lists,
        QtypeMix::parse("A=50,AAAA=50").unwrap(),
        10,
        hot_fraction,
        true,
        seed,
    )
}

fn draw(generator: &mut Generator, n: usize) -> (Vec<Vec<u8>>, HashMap<Category, usize>) {
    let mut queries = Vec::new();
    let mut counts = HashMap::new();
    for i in 0..n {
        let mut out = Vec::new();
        *counts
            .entry(generator.next_query(i as u16, &mut out))
            .or_default() += 1;
        queries.push(out);
    }
    (queries, counts)
}

#[test]
fn the_same_seed_sends_the_same_queries() {
    let (a, _) = draw(&mut Generator::new(tables(0.5, 7), 7, 0), 500);
    let (b, _) = draw(&mut Generator::new(tables(0.5, 7), 7, 0), 500);
    let (c, _) = draw(&mut Generator::new(tables(0.5, 8), 8, 0), 500);
    let (d, _) = draw(&mut Generator::new(tables(0.5, 7), 7, 1), 500);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, d, "each worker has its own stream");
    // Every query is a well-formed query (not a response) with the DO bit set.
    for q in &a {
        assert!(parse_response(q).is_none());
        assert_eq!(&q[q.len() - 11..q.len() - 8], &[0, 0, 41]);
        assert_eq!(q[q.len() - 4], 0x80);
    }
}

#[test]
fn categories_follow_their_weights_and_cold_names_are_unique() {
    let n = 20_000;
    let (queries, counts) = draw(&mut Generator::new(tables(0.0, 1), 1, 0), n);
    for (category, weight) in [
        (Category::Hns, 0.4),
        (Category::Below, 0.3),
        (Category::Icann, 0.2),
        (Category::Nx, 0.1),
    ] {
        let share = counts.get(&category).copied().unwrap_or(0) as f64 / n as f64;
        assert!((share - weight).abs() < 0.02, "{category:?}: {share}");
    }
    // Cold NX, below and ICANN names carry random labels: almost all distinct.
    let distinct: std::collections::HashSet<&[u8]> =
        queries.iter().map(|q| &q[12..q.len() - 15]).collect();
    assert!(distinct.len() > n * 55 / 100, "{}", distinct.len());
}

#[test]
fn hot_queries_repeat_a_small_set() {
    let n = 5_000;
    let (queries, _) = draw(&mut Generator::new(tables(1.0, 3), 3, 0), n);
    // Question sections only (IDs differ): at most the 10 hot (name, type) pairs.
    let distinct: std::collections::HashSet<&[u8]> = queries.iter().map(|q| &q[12..]).collect();
    assert!(distinct.len() <= 10, "{}", distinct.len());
    assert!(distinct.len() >= 5, "{}", distinct.len());
}
