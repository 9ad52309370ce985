// `tamga agent` without a card: no storage is listed, and every call that
// needs the card says so. Run by host/tests/agent.rs (AGENT_URL,
// NODE_EXTRA_CA_CERTS).
'use strict';

const { NCALayerClient } = require('ncalayer-js-client');

function expect(cond, what) {
  if (!cond) {
    console.log(JSON.stringify({ step: 'FAILED', value: what }));
    process.exit(1);
  }
}

(async () => {
  const client = new NCALayerClient(process.env.AGENT_URL, false);
  expect((await client.connect()) === '1.4', 'greeting');
  const tokens = await client.getActiveTokens();
  expect(Array.isArray(tokens) && tokens.length === 0, 'no storage without a card');
  const info = await client.getKeyInfo('AKKZIDCardStore').catch((e) => e);
  console.log(JSON.stringify({ step: 'getKeyInfo', value: info.message }));
  expect(/^500: .*no emulated card/.test(info.message), 'getKeyInfo says there is no card');
  const sig = await client.basicsSignCMS(null, 'MTEK', {}, { extKeyUsageOids: [] }).catch((e) => e);
  console.log(JSON.stringify({ step: 'sign', value: sig.message }));
  expect(/^SIGNING_FAILURE: .*no emulated card/.test(sig.message), 'sign says there is no card');
  console.log(JSON.stringify({ step: 'done', value: true }));
  process.exit(0);
})().catch((e) => {
  console.log(JSON.stringify({ step: 'FAILED', value: String(e) }));
  process.exit(1);
});
