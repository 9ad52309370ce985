// Requests per second and time per signature through `tamga agent`, with the
// real ncalayer-js-client. Run by `cargo xtask bench-agent`. Environment:
// AGENT_URL, NODE_EXTRA_CA_CERTS, INFO_N (getKeyInfo calls), SIGN_N (signatures).
'use strict';

const { NCALayerClient } = require('ncalayer-js-client');

const STORE = 'AKKZIDCardStore';
const infoN = Number(process.env.INFO_N || 500);
const signN = Number(process.env.SIGN_N || 30);

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

(async () => {
  const client = new NCALayerClient(process.env.AGENT_URL, false);
  await client.connect();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < infoN; i += 1) await client.getKeyInfo(STORE);
  const infoSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  const doc = Buffer.from('Договор поставки № 7\n').toString('base64');
  const times = [];
  for (let i = 0; i < signN; i += 1) {
    t0 = process.hrtime.bigint();
    await client.createCAdESFromBase64(STORE, doc, 'SIGNATURE', false);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(JSON.stringify({
    getKeyInfoPerSecond: infoN / infoSecs,
    signatureMsMedian: median(times),
    signatureMsMin: Math.min(...times),
  }));
  process.exit(0);
})().catch((e) => { console.error(String(e)); process.exit(1); });
