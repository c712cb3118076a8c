//! Brontide costs on one core: the whole handshake (both sides, including the SVDW-squared
//! encodings), and encrypting + decrypting 1 KiB and 64 KiB messages.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hnsfleet_brontide::{Initiator, Responder, Session};
use rand::SeedableRng;
use secp256k1::SecretKey;

fn key(b: u8) -> SecretKey {
    SecretKey::from_byte_array([b; 32]).unwrap()
}

fn handshake(rng: &mut rand::rngs::StdRng) -> (Session, Session) {
    let responder_static = key(0x21);
    let mut initiator = Initiator::new(
        key(0x11),
        responder_static.public_key(secp256k1::SECP256K1),
        key(0x12),
    );
    let mut responder = Responder::new(responder_static, key(0x22));
    let one = initiator.act_one(rng).unwrap();
    responder.read_act_one(&one).unwrap();
    let two = responder.act_two(rng).unwrap();
    let (three, a) = initiator.act_three(&two).unwrap();
    let (_, b) = responder.read_act_three(&three).unwrap();
    (a, b)
}

fn bench(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    c.bench_function("brontide/handshake (both sides)", |b| {
        b.iter(|| handshake(&mut rng))
    });
    let mut group = c.benchmark_group("brontide/message");
    for size in [1024usize, 64 * 1024] {
        let (a, b) = handshake(&mut rng);
        let (mut send, _) = a.split();
        let (_, mut recv) = b.split();
        let payload = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("encrypt+decrypt {size} B"), |bench| {
            bench.iter(|| {
                let wire = send.encrypt(&payload).unwrap();
                recv.feed(&wire);
                recv.next_message().unwrap().unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
