'use strict';
// Independent RRSIG construction with bns (the DNS library hsd 8.0.0 signs its root answers
// with), using the publicly known HNS root keys of hns-dns.md §2.7 and a fixed clock.
// stdin: {"now": unix seconds, "sets": [{"key": "zsk"|"ksk", "records": [hex RR...]}]}
// stdout: {"rrsigs": [hex RR...]} (one RRSIG per set, RFC 6979 nonces, so byte-exact)
const bns = require('bns');
const util = require('bns/lib/util');

const { dnssec, wire } = bns;
const { Record } = wire;

const KEYS = {
  ksk: { priv: '1c74c825c5b0f08cf6be846bfc93c423f03e3e1f6202fb2d96474b1520bbafad', flags: 257 },
  zsk: { priv: '54276ff8604a3494c5c76d6651f14b289c7253ba636be4bfd7969308f48da47d', flags: 256 },
};

function rootKey(which) {
  const spec = KEYS[which];
  const priv = Buffer.from(spec.priv, 'hex');
  const key = dnssec.makeKey('.', wire.algs.ECDSAP256SHA256, priv, spec.flags);
  key.ttl = 10800;
  return { key, priv };
}

let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  util.now = () => req.now;
  const rrsigs = req.sets.map((set) => {
    const { key, priv } = rootKey(set.key);
    const rrset = set.records.map((h) => Record.decode(Buffer.from(h, 'hex')));
    return dnssec.sign(key, priv, rrset).encode().toString('hex');
  });
  process.stdout.write(JSON.stringify({ rrsigs }));
});
