#!/usr/bin/python3
"""Stand-in for the HashiCorp Vault HTTP API, used by secretrace's end-to-end
tests and demo (no Vault binary is available on the test machines).

Standard library only.  It reproduces Vault's JSON wire format, the endpoints
agents use to fetch secrets (KV v2, dynamic database credentials, AppRole,
userpass, token, response wrapping, audit-hash, health) and Vault's file audit
device format (one JSON object per line, secrets HMAC'd with a per-run salt).

Usage:
  python3 tests/vault_standin.py --listen 127.0.0.1:0 [--listen [::1]:0 ...]
      --ready-file PATH --audit-log PATH [--seed-file PATH]
      [--tls-cert CERT --tls-key KEY] [--chunked] [--gzip]
      [--h2-responses-dir DIR] [--issued-log PATH] [--db-lease-ttl SECONDS] [-v]

Once every listener is bound, the credentials are written to
<ready-file>.creds.json:
  {"root_token": "hvs...", "role_id": "<uuid>", "secret_id": "<uuid>",
   "userpass": {"username": "alice", "password": "..."}}
and then the ready file itself (one "http[s]://HOST:PORT" line per --listen,
in command-line order), both atomically (temp file + rename).  Tests should
wait for the ready file to exist and then read the creds file.

Per-request test knobs (request headers, not part of Vault):
  X-Standin-Chunked: 1|0          force / disable chunked response bodies
  X-Standin-Encoding: gzip|deflate|identity
                                  force a Content-Encoding for the response

--h2-responses-dir DIR: every /v1/ response is also saved as
DIR/NNNNNN.json = {"seq", "method", "path", "request_id", "status",
"headers": [[":status", "200"], [lower-case name, value], ...] (HTTP/2 form,
no connection-specific headers), "body_b64": body bytes as sent (after any
content coding), "body": decoded JSON text}, so an HTTP/2 test can replay the
exact responses.

--issued-log PATH: one JSON line {"request_id", "path", "field", "value"}
(plus "lease_id" when the response has one) is
appended for every secret value a response hands out (KV v2 data.data fields
as dotted paths, database username/password, AppRole role_id/secret_id,
auth.client_token of logins, token create and renew, the id of
token/lookup-self, wrap_info.token, and the data of an unwrapped response), so
tests know the ground truth.  Written before the response is sent.

--db-lease-ttl SECONDS: the lease_duration of database credentials (and the
default increment of their renewals), 3600 by default; short leases let tests
use a credential after its lease expired.

SIGTERM / SIGINT: stop listening, flush and close the audit log, exit 0.
"""

import os
import sys

# the package tests/standin/ beside this file, whatever the working directory
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from standin.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
