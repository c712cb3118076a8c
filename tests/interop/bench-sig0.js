'use strict';
// Baseline for docs/benchmarks.md: SIG(0) signing and verifying rate of bns (hsd 8.0.0's DNS
// library) on the same 49-byte message as hnsfleet's criterion bench (hns-dns.md §5.6).
// Usage: node bench-sig0.js [seconds]
const { hsig } = require('bns');
const backend = require('bcrypto/lib/secp256k1').native ? 'native' : 'js';

const priv = Buffer.from('104932181cfed7584105c728cdc0eb9af1e7ffdc4a00743fd45e5de66cac7668', 'hex');
const pub = hsig.createPublic(priv);
const msg = Buffer.from('123484000001000100000000076578616d706c650000100001c00c0010000100005460000c0b68656c6c6f20776f726c64', 'hex');
const seconds = Number(process.argv[2] || 3);

function rate(fn) {
  const end = process.hrtime.bigint() + BigInt(seconds * 1e9);
  let n = 0;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return Math.round(n / seconds);
}

const signed = hsig.sign(msg, priv);
const signRate = rate(() => hsig.sign(msg, priv));
const verifyRate = rate(() => hsig.verify(signed, pub));
console.log(JSON.stringify({ library: 'bns', backend, signPerSec: signRate, verifyPerSec: verifyRate }));
