'use strict';
// An independent SIG(0) check for the demo: asks NAME TYPE over UDP at HOST:PORT with bns and
// verifies the response's SIG(0) with bns's hsig against PUBKEY (33-byte hex).
//   node sig0-query.js NAME TYPE HOST PORT PUBKEY_HEX
// Prints one JSON line: {"rcode":..., "ad":bool, "answers":[...], "sig0":"verified"|"<error>"}.
const dgram = require('dgram');
const { wire, hsig, util } = require('bns');

const [name, type, host, port, pubHex] = process.argv.slice(2);
const query = new wire.Message();
query.id = Math.floor(Math.random() * 65535);
query.rd = true;
query.question.push(new wire.Question(util.fqdn(name), type));
query.edns.enabled = true;
query.edns.dnssec = true;
query.edns.size = 1232;

const socket = dgram.createSocket('udp4');
const timer = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(1); }, 10000);
socket.on('message', (raw) => {
  clearTimeout(timer);
  socket.close();
  let sig0;
  try {
    sig0 = hsig.verify(raw, Buffer.from(pubHex, 'hex')) === true ? 'verified' : 'failed';
  } catch (e) {
    sig0 = `failed: ${e.message}`;
  }
  const msg = wire.Message.decode(raw);
  console.log(JSON.stringify({
    rcode: wire.codeToString(msg.code),
    ad: msg.ad,
    answers: msg.answer.map((rr) => rr.toString()),
    sig0,
  }));
});
socket.send(query.encode(), Number(port), host);
