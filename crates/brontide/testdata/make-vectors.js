// Generates crates/brontide/testdata/vectors.json from hsd 8.0.0's own brontide.js and bcrypto
// (installed by scripts/setup.sh in tests/e2e/hsd). Run from the repository root:
//   NODE_PATH=tests/e2e/hsd/node_modules node crates/brontide/testdata/make-vectors.js
// The output is committed; tests never run node.
'use strict';

const crypto = require('crypto');
const secp256k1 = require('bcrypto/lib/secp256k1');
const {Brontide} = require('hsd/lib/net/brontide');

// Deterministic "random" bytes for the map vectors.
function bytes(seed, n) {
  const out = [];
  let counter = 0;
  while (Buffer.concat(out).length < n) {
    out.push(crypto.createHash('sha256').update(`${seed}:${counter++}`).digest());
  }
  return Buffer.concat(out).slice(0, n);
}

const P = Buffer.from('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f', 'hex');
const map = [];
const inputs = [];
for (let i = 0; i < 40; i++) inputs.push(bytes(`map-${i}`, 64));
// First half at or above p (bcrypto reduces it).
const high = Buffer.concat([P, bytes('high', 32)]);
high[31] += 3;
inputs.push(high);
inputs.push(Buffer.concat([Buffer.alloc(32, 0xff), bytes('ff', 32)]));
for (const input of inputs) {
  let key = null;
  try {
    key = secp256k1.publicKeyFromHash(input, true).toString('hex');
  } catch (e) {
    key = null;
  }
  map.push({uniform: input.toString('hex'), key});
}

// A whole handshake with fixed keys; both sides are hsd's code.
const keys = {
  initiatorStatic: Buffer.alloc(32, 0x11),
  initiatorEphemeral: Buffer.alloc(32, 0x12),
  responderStatic: Buffer.alloc(32, 0x21),
  responderEphemeral: Buffer.alloc(32, 0x22),
};
const initiator = new Brontide();
initiator.init(true, keys.initiatorStatic, secp256k1.publicKeyCreate(keys.responderStatic, true));
initiator.generateKey = () => keys.initiatorEphemeral;
const responder = new Brontide();
responder.init(false, keys.responderStatic, null);
responder.generateKey = () => keys.responderEphemeral;

// The receiving side decrypts in place (slices share memory): keep the wire bytes apart.
const act1 = initiator.genActOne();
responder.recvActOne(Buffer.from(act1));
const act2 = responder.genActTwo();
initiator.recvActTwo(Buffer.from(act2));
const act3 = initiator.genActThree();
responder.recvActThree(Buffer.from(act3));

// Transport messages as BrontideStream writes them: u32 LE length + tag, payload + tag.
function frame(cipherOwner, payload) {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(payload.length, 0);
  const body = Buffer.from(payload);
  const tag1 = cipherOwner.sendCipher.encrypt(len);
  const tag2 = cipherOwner.sendCipher.encrypt(body);
  return Buffer.concat([len, tag1, body, tag2]);
}
const messages = [];
for (let i = 0; i < 1002; i++) {
  const payload = bytes(`msg-${i}`, i % 7 === 0 ? 0 : 1 + (i % 50));
  const wire = frame(initiator, payload);
  if (i < 3 || (i >= 498 && i <= 501) || i >= 998)
    messages.push({index: i, payload: payload.toString('hex'), wire: wire.toString('hex')});
}
const reply = Buffer.from('responder says hi');
const replyWire = frame(responder, reply);

const out = {
  source: 'hsd 8.0.0 lib/net/brontide.js + bcrypto (tests/e2e/hsd/node_modules), see make-vectors.js',
  map,
  handshake: {
    initiatorStatic: keys.initiatorStatic.toString('hex'),
    initiatorEphemeral: keys.initiatorEphemeral.toString('hex'),
    responderStatic: keys.responderStatic.toString('hex'),
    responderEphemeral: keys.responderEphemeral.toString('hex'),
    act1: act1.toString('hex'),
    act2: act2.toString('hex'),
    act3: act3.toString('hex'),
    initiatorToResponder: messages,
    responderToInitiator: {payload: reply.toString('hex'), wire: replyWire.toString('hex')},
  },
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
