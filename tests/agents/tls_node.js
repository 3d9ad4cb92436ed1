#!/usr/bin/node
// e2e agent (issue 3): Node.js https (ca: the test CA). Run it as /usr/bin/node (the
// nodesource build, OpenSSL linked in statically). Fetches secret/data/agent/tls (api_key,
// token) and database/creds/readonly (username, password) with X-Vault-Token (the root
// token, read from the creds file; never in an argv), then
//   api_key            -> HTTPS receiver, "Authorization: Bearer"
//   token              -> plain TCP receiver (net), "X-Api-Token: ...\n"
//   username:password  -> HTTPS receiver, HTTP Basic auth (the request's `auth` option)
// Nothing is written anywhere else.
// usage: node tls_node.js VAULT_URL CA_FILE CREDS_FILE RX_TLS_PORT RX_TCP_PORT
'use strict';
const fs = require('fs');
const https = require('https');
const net = require('net');

const [vault, caFile, credsFile, rxs, rxp] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
const token = JSON.parse(fs.readFileSync(credsFile, 'utf8')).root_token;

function get(url, options) {
  return new Promise((resolve, reject) => {
    // agent: false: one connection per request, closed after it (no keep-alive pool)
    const req = https.get(url, Object.assign({ ca, agent: false }, options), (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout: ' + url)));
  });
}

function vaultRead(path) {
  return get(vault + '/v1/' + path, { headers: { 'X-Vault-Token': token } }).then((r) => {
    if (r.status !== 200) throw new Error(path + ': HTTP ' + r.status);
    return JSON.parse(r.body).data;
  });
}

function tcpSend(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(port) }, () => s.end(text));
    s.on('close', resolve);
    s.on('error', reject);
  });
}

async function main() {
  const kv = (await vaultRead('secret/data/agent/tls')).data;
  const db = await vaultRead('database/creds/readonly');
  let r = await get(`https://127.0.0.1:${rxs}/chat`, { headers: { Authorization: 'Bearer ' + kv.api_key } });
  if (r.status !== 204) throw new Error('bearer: HTTP ' + r.status);
  await tcpSend(rxp, 'X-Api-Token: ' + kv.token + '\n');
  r = await get(`https://127.0.0.1:${rxs}/login`, { auth: db.username + ':' + db.password });
  if (r.status !== 204) throw new Error('basic: HTTP ' + r.status);
}

main().catch((e) => {
  console.error('tls_node.js: ' + e.message);
  process.exit(1);
});
