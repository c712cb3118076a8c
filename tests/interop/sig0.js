'use strict';
// Independent SIG(0) check with bns (the DNS library hsd 8.0.0 signs its answers with).
// stdin: {"pub": hex33, "priv": hex32, "signedByUs": [hex...], "toSign": [hex...]}
// stdout: {"bnsVerifies": [bool...], "signedByBns": [hex...]}
const { hsig } = require('bns');

let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const pub = Buffer.from(req.pub, 'hex');
  const priv = Buffer.from(req.priv, 'hex');
  const bnsVerifies = req.signedByUs.map((h) => {
    try {
      return hsig.verify(Buffer.from(h, 'hex'), pub) === true;
    } catch (e) {
      return false;
    }
  });
  const signedByBns = req.toSign.map((h) => hsig.sign(Buffer.from(h, 'hex'), priv).toString('hex'));
  process.stdout.write(JSON.stringify({ bnsVerifies, signedByBns }));
});
