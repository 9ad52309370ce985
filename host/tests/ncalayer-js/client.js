// Drives `tamga agent` with the real ncalayer-js-client, as a web page would,
// and raw WebSocket frames for what a page must not be able to do. Run by
// host/tests/agent.rs, which starts the agent, types the PINs on the dialog's
// terminal and checks every signature written to OUT_DIR with openssl.
//
// Environment: AGENT_URL (wss://127.0.0.1:PORT/), OUT_DIR, NODE_EXTRA_CA_CERTS
// (the agent's local CA). Prints one JSON line per step; exits 1 on a failed
// expectation.

'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const WebSocket = require('ws');
const { NCALayerClient } = require('ncalayer-js-client');

const url = process.env.AGENT_URL;
const out = process.env.OUT_DIR;
const STORE = 'AKKZIDCardStore';

function report(step, value) {
  console.log(JSON.stringify({ step, value }));
}

function expect(cond, what) {
  if (!cond) {
    console.log(JSON.stringify({ step: 'FAILED', value: what }));
    process.exit(1);
  }
}

function save(name, data) {
  fs.writeFileSync(path.join(out, name), data);
}

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

// One raw connection: the greeting, then request/reply pairs.
function raw(options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const queue = [];
    let waiting = null;
    ws.on('message', (m) => {
      const text = m.toString();
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(text);
      } else {
        queue.push(text);
      }
    });
    ws.on('error', reject);
    const next = () => new Promise((r) => {
      if (queue.length) r(queue.shift()); else waiting = r;
    });
    ws.on('open', async () => {
      const greeting = await next();
      resolve({
        greeting,
        ask: (frame) => { ws.send(frame); return next(); },
        close: () => ws.close(),
      });
    });
  });
}

async function rejects(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    return e;
  }
}

(async () => {
  const client = new NCALayerClient(url, false);
  const version = await client.connect();
  report('connect', { version, isKmd: client.isKmd });
  expect(version === '1.4' && client.isKmd === false, 'greeting 1.4, not KAZTOKEN');

  const tokens = await client.getActiveTokens();
  report('getActiveTokens', tokens);
  expect(JSON.stringify(tokens) === JSON.stringify([STORE]), 'the card as AKKZIDCardStore');

  const info = await client.getKeyInfo(STORE);
  // Asked once per connection.
  const again = await client.getKeyInfo(STORE);
  expect(again.serialNumber === info.serialNumber, 'getKeyInfo again, no second dialog');
  report('getKeyInfo', { subjectCn: info.subjectCn, serialNumber: info.serialNumber });
  save('keyinfo.json', JSON.stringify(info));

  const text = 'Договор № 7: оплата до 1 декабря\n';
  save('doc.txt', text);
  const doc = b64(text);

  // 1. basicsSignCMS, attached (prompt 1).
  const attached = await client.basicsSignCMS(
    NCALayerClient.basicsStorageAll, doc,
    { decode: true, encapsulate: true, digested: false },
    NCALayerClient.basicsSignerSignAny,
  );
  report('basicsSignCMS attached', attached.slice(0, 20));
  save('attached.pem', attached);

  // 2. detached, the card's storage named (prompt 2).
  const detached = await client.basicsSignCMS(
    [STORE], doc, NCALayerClient.basicsCMSParamsDetachedNoTSP, NCALayerClient.basicsSignerAny,
  );
  save('detached.pem', detached);

  // 3. an array of two documents under one PIN (prompt 3).
  const second = 'Второй документ\n';
  save('doc2.txt', second);
  const both = await client.basicsSignCMS(
    null, [doc, b64(second)], NCALayerClient.basicsCMSParamsDetachedNoTSP,
    NCALayerClient.basicsSignerAny,
  );
  expect(Array.isArray(both) && both.length === 2, 'two signatures for two documents');
  save('array-0.pem', both[0]);
  save('array-1.pem', both[1]);

  // 4. createCAdESFromBase64, detached and attached (prompts 4, 5).
  const cades = await client.createCAdESFromBase64(STORE, doc, 'SIGNATURE', false);
  save('cades-detached.b64', cades);
  const cadesAttached = await client.createCAdESFromBase64(STORE, doc, 'SIGNATURE', true);
  save('cades-attached.b64', cadesAttached);

  // 5. createCAdESFromBase64Hash over SHA-256 (prompt 6).
  const hash = crypto.createHash('sha256').update(Buffer.from(text, 'utf8')).digest('base64');
  const cadesHash = await client.createCAdESFromBase64Hash(STORE, hash, 'SIGNATURE');
  save('cades-hash.b64', cadesHash);

  // 6. the authentication key by its usage (prompt 7).
  const auth = await client.basicsSignCMS(
    null, doc, NCALayerClient.basicsCMSParamsDetachedNoTSP, NCALayerClient.basicsSignerAuthAny,
  );
  save('auth.pem', auth);

  // 7. cancelled in the dialog (prompt 8): the protocol's cancel, both modules.
  const cancelled = await rejects(client.basicsSignCMS(
    null, doc, NCALayerClient.basicsCMSParamsDetachedNoTSP, NCALayerClient.basicsSignerAny,
  ));
  report('cancel basics', cancelled && { canceledByUser: cancelled.canceledByUser });
  expect(cancelled && cancelled.canceledByUser === true, 'basics cancel');
  const cancelled2 = await rejects(client.createCAdESFromBase64(STORE, doc, 'SIGNATURE', false));
  report('cancel commonUtils', cancelled2 && cancelled2.message);
  expect(cancelled2 && cancelled2.message === '500: action.canceled', 'commonUtils cancel');

  // 8. a wrong PIN, then the right one (prompts 10, 11).
  const retried = await client.createCAdESFromBase64(STORE, doc, 'SIGNATURE', false);
  save('retried.b64', retried);

  // 9. a 10 MB document, detached (prompt 12).
  const big = crypto.randomBytes(10 * 1024 * 1024);
  save('big.bin', big);
  const bigSig = await client.basicsSignCMS(
    null, big.toString('base64'), NCALayerClient.basicsCMSParamsDetachedNoTSP,
    NCALayerClient.basicsSignerAny,
  );
  save('big.pem', bigSig);

  // 10. a second client while a signature waits for its PIN (prompt 13 is
  // answered after a pause): it is served, and its own signature is refused.
  const slow = client.createCAdESFromBase64(STORE, doc, 'SIGNATURE', false);
  await new Promise((r) => setTimeout(r, 300));
  const other = await raw();
  const t0 = Date.now();
  const otherTokens = JSON.parse(await other.ask(JSON.stringify({
    module: 'kz.gov.pki.knca.commonUtils', method: 'getActiveTokens',
  })));
  const served = Date.now() - t0;
  const busy = JSON.parse(await other.ask(JSON.stringify({
    module: 'kz.gov.pki.knca.commonUtils', method: 'createCAdESFromBase64',
    args: [STORE, 'SIGNATURE', doc, false],
  })));
  other.close();
  report('second client', { served, otherTokens, busy });
  expect(otherTokens.code === '200' && served < 1000, 'the second client is served at once');
  expect(busy.code === '500' && /waiting for its PIN/.test(busy.message), 'a second signature is refused');
  save('slow.b64', await slow);

  // 11. XML: signXml, signXmls, basicsSignXML (prompts 14, 15, 16).
  const form = '<?xml version="1.0" encoding="UTF-8"?>\n<заявление xmlns="urn:egov:test" номер="7">'
    + '<ИИН>871008401427</ИИН><!-- a comment --><текст>Прошу выдать справку</текст></заявление>';
  save('form.xml', await client.signXml(STORE, form, 'SIGNATURE', '', ''));
  const forms = await client.signXmls(STORE, [form, '<a><b c="1"/></a>'], 'SIGNATURE', '', '');
  expect(Array.isArray(forms) && forms.length === 2, 'two signed XML documents');
  save('forms-0.xml', forms[0]);
  save('forms-1.xml', forms[1]);
  const basicsXml = await client.basicsSignXML(
    NCALayerClient.basicsStorageAll, form, {}, NCALayerClient.basicsSignerSignAny,
  );
  expect(Array.isArray(basicsXml) && basicsXml.length === 1, 'basics xml: an array');
  save('basics.xml', basicsXml[0]);
  // Not XML, and a part of a document: refused before any dialog.
  const notXml = await rejects(client.signXml(STORE, '<this>is not XML', 'SIGNATURE', '', ''));
  report('not XML', notXml && notXml.message);
  expect(notXml && /^500: /.test(notXml.message), 'malformed XML refused');
  const part = await rejects(client.signXml(STORE, form, 'SIGNATURE', '//текст', ''));
  expect(part && /not supported yet/.test(part.message), 'XPath parts refused');

  // Raw frames.
  const r = await raw();
  expect(JSON.parse(r.greeting).result.version === '1.4', 'raw greeting');
  const hb = await r.ask('--heartbeat--');
  expect(hb === '--heartbeat--', 'heartbeat echoed');
  const malformed = JSON.parse(await r.ask('{"module": '));
  report('malformed', malformed);
  expect(malformed.code === '500' && /malformed/.test(malformed.message), 'malformed JSON');
  const kaztoken = JSON.parse(await r.ask('{"module":"kz.digiflow.mobile.extensions","method":"getVersion"}'));
  expect(kaztoken.success === false && kaztoken.errorCode === 'MODULE_NOT_FOUND', 'unknown module');
  const unknown = JSON.parse(await r.ask('{"module":"kz.gov.pki.knca.commonUtils","method":"formatDisk","args":[]}'));
  expect(unknown.code === '500' && /unknown method/.test(unknown.message), 'unknown method');
  const mismatch = JSON.parse(await r.ask('{"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":[1]}'));
  // A new connection asks again before showing the certificate; refused here.
  const refusedInfo = JSON.parse(await r.ask(JSON.stringify({
    module: 'kz.gov.pki.knca.commonUtils', method: 'getKeyInfo', args: [STORE],
  })));
  report('getKeyInfo refused', refusedInfo);
  expect(refusedInfo.code === '500' && refusedInfo.message === 'action.canceled', 'consent refused');
  expect(mismatch.code === '500' && /argument type mismatch/.test(mismatch.message), 'type mismatch');
  const p12 = JSON.parse(await r.ask(JSON.stringify({
    module: 'kz.gov.pki.knca.basics', method: 'sign',
    args: { allowedStorages: ['PKCS12'], format: 'cms', data: doc, signingParams: {}, signerParams: {} },
  })));
  expect(p12.status === false && /AKKZIDCardStore/.test(p12.message), 'a storage the agent does not serve');
  const tsp = JSON.parse(await r.ask(JSON.stringify({
    module: 'kz.gov.pki.knca.basics', method: 'sign',
    args: { format: 'cms', data: doc, signingParams: { tsaProfile: {} }, signerParams: {} },
  })));
  expect(tsp.status === false && /timestamp/.test(tsp.message), 'no TSA: a clear error');
  const iin = JSON.parse(await r.ask(JSON.stringify({
    module: 'kz.gov.pki.knca.basics', method: 'sign',
    args: { format: 'cms', data: doc, signingParams: {}, signerParams: { iin: '000000000000' } },
  })));
  report('wrong IIN', iin);
  expect(iin.status === false && /IIN 000000000000/.test(iin.message), 'a certificate of another IIN');
  r.close();

  // A page of an origin not allowed: refused, never signed.
  const evil = await raw({ origin: 'https://evil.example' });
  const refused = JSON.parse(await evil.ask(JSON.stringify({
    module: 'kz.gov.pki.knca.basics', method: 'sign',
    args: { format: 'cms', data: doc, signingParams: {}, signerParams: {} },
  })));
  report('evil origin', refused);
  expect(refused.status === false && refused.code === 'ORIGIN_NOT_ALLOWED', 'origin refused');
  const refused2 = JSON.parse(await evil.ask('{"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"}'));
  expect(refused2.code === '500' && /may not use/.test(refused2.message), 'origin refused (commonUtils)');
  evil.close();
  const good = await raw({ origin: 'https://cabinet.gov.kz' });
  const goodTokens = JSON.parse(await good.ask('{"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"}'));
  expect(goodTokens.code === '200', 'an e-government origin is allowed');
  good.close();

  report('done', true);
  process.exit(0);
})().catch((e) => {
  console.log(JSON.stringify({ step: 'FAILED', value: String(e && e.stack ? e.stack : e) }));
  process.exit(1);
});
