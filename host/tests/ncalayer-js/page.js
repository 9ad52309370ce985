// A web page that signs with the card through `tamga agent`, in headless
// Chromium (Debian's, driven by playwright-core): the page is served over
// HTTPS on localhost, uses ncalayer-js-client in the browser, and trusts the
// agent only through the NSS database `tamga agent install` wrote under HOME.
// Run by host/tests/agent.rs.
//
// Environment: AGENT_URL, PAGE_PORT, OUT_DIR, HOME (with .pki/nssdb),
// CHROMIUM (default /usr/bin/chromium). Writes OUT_DIR/page.pem (the
// signature), OUT_DIR/page.txt (what was signed) and OUT_DIR/page.png.

'use strict';

const fs = require('fs');
const https = require('https');
const path = require('path');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const out = process.env.OUT_DIR;
const port = Number(process.env.PAGE_PORT);
const agentUrl = process.env.AGENT_URL;
const nssdb = `sql:${path.join(process.env.HOME, '.pki/nssdb')}`;
const text = 'Заявление на справку о несудимости\n';

// The page's own server certificate, from a test CA the browser trusts
// through the same NSS database.
function pageCertificate() {
  const dir = path.join(out, 'page-tls');
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  const ssl = (args) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Tamga page test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('page.key'), '-out', f('page.csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(f('ext'), 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl(['x509', '-req', '-in', f('page.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', f('ext'), '-out', f('page.pem')]);
  execFileSync('certutil', ['-A', '-n', 'Tamga page test CA', '-t', 'C,,', '-d', nssdb,
    '-i', f('ca.pem')]);
  return { key: fs.readFileSync(f('page.key')), cert: fs.readFileSync(f('page.pem')) };
}

const html = `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Tamga: подпись на странице</title>
<script src="/ncalayer-client.js"></script></head>
<body style="font-family: sans-serif">
<h1>Подпись документа картой</h1>
<pre id="doc"></pre>
<p>Статус: <b id="status">…</b></p>
<pre id="result" style="font-size: 9px; white-space: pre-wrap"></pre>
<script>
  const text = ${JSON.stringify(text)};
  document.getElementById('doc').textContent = text;
  const status = (s) => { document.getElementById('status').textContent = s; };
  (async () => {
    try {
      const client = new NCALayerClient(${JSON.stringify(agentUrl)}, false);
      status('connecting');
      const version = await client.connect();
      status('connected to ' + version + ', signing');
      const data = btoa(String.fromCharCode(...new TextEncoder().encode(text)));
      const sig = await client.basicsSignCMS(NCALayerClient.basicsStorageAll, data,
        NCALayerClient.basicsCMSParamsDetachedNoTSP, NCALayerClient.basicsSignerSignAny);
      document.getElementById('result').textContent = sig;
      status('signed');
    } catch (e) {
      status('error: ' + e.message);
    }
  })();
</script></body></html>`;

(async () => {
  const tls = pageCertificate();
  const clientJs = fs.readFileSync(require.resolve('ncalayer-js-client/ncalayer-client.js'));
  const server = https.createServer(tls, (req, res) => {
    if (req.url === '/ncalayer-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(clientJs);
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let status = '';
  try {
    const page = await browser.newPage();
    await page.goto(`https://localhost:${port}/`);
    await page.waitForFunction(() => {
      const s = document.getElementById('status').textContent;
      return s === 'signed' || s.startsWith('error');
    }, null, { timeout: 60000 });
    status = await page.textContent('#status');
    await page.screenshot({ path: path.join(out, 'page.png'), fullPage: true });
    fs.writeFileSync(path.join(out, 'page.pem'), await page.textContent('#result'));
    fs.writeFileSync(path.join(out, 'page.txt'), text);
  } finally {
    await browser.close();
    server.close();
  }
  console.log(JSON.stringify({ step: 'page', value: status }));
  process.exit(status === 'signed' ? 0 : 1);
})().catch((e) => {
  console.log(JSON.stringify({ step: 'FAILED', value: String(e && e.stack ? e.stack : e) }));
  process.exit(1);
});
