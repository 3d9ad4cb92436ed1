#!/bin/bash
# e2e agent (issue 3): curl over TLS. Fetches secret/data/agent/tls (api_key, token) and
# database/creds/readonly (username, password) in one curl run (one connection) with
# --cacert, over HTTP/1.1 or, with --http2, HTTP/2; then
#   api_key             -> HTTPS receiver, "Authorization: Bearer" (curl, SSL_write)
#   token               -> plain TCP receiver, "X-Api-Token" header (curl, sendto)
#   username:password   -> HTTPS receiver, HTTP Basic auth (curl, SSL_write, base64)
# usage: tls_curl.sh VAULT_URL CA_FILE CREDS_FILE RX_TLS_PORT RX_TCP_PORT WORKDIR [--http2]
# No secret and no Vault token goes into an argv: curl reads headers and credentials from
# files (-H @file, -K file), which this shell writes (each one a file use):
#   WORKDIR/kv.json, WORKDIR/db.json   the responses (written by curl)
#   WORKDIR/bearer.cfg                 api_key
#   WORKDIR/plain.cfg                  token
#   WORKDIR/basic.cfg                  username and password
# The Vault token header file is written before the first request (the token is learned
# when presented, and must not be "used" by a later write).
set -eu
vault=$1 ca=$2 creds=$3 rxs=$4 rxp=$5 dir=$6
proto=--http1.1
[ "${7:-}" = --http2 ] && proto=--http2
token=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$creds")
printf 'X-Vault-Token: %s\n' "$token" >"$dir/vault-header"
curl -sS --fail "$proto" --cacert "$ca" -H @"$dir/vault-header" \
    -o "$dir/kv.json" "$vault/v1/secret/data/agent/tls" \
    -o "$dir/db.json" "$vault/v1/database/creds/readonly"

field() {       # field NAME FILE: a JSON string value, parsed by bash itself (no process)
    local text re
    IFS= read -r -d '' text <"$2" || true       # a builtin: no subshell writes it to a pipe
    re="\"$1\":\"([^\"]*)\""
    [[ $text =~ $re ]] || { echo "tls_curl.sh: no $1 in $2" >&2; exit 1; }
    printf -v "$1" '%s' "${BASH_REMATCH[1]}"
}
field api_key "$dir/kv.json"
field token "$dir/kv.json"
field username "$dir/db.json"
field password "$dir/db.json"

printf 'header = "Authorization: Bearer %s"\n' "$api_key" >"$dir/bearer.cfg"
curl -sS --fail --cacert "$ca" -K "$dir/bearer.cfg" -o /dev/null "https://127.0.0.1:$rxs/chat"
printf 'header = "X-Api-Token: %s"\n' "$token" >"$dir/plain.cfg"
curl -sS --fail -K "$dir/plain.cfg" -o /dev/null "http://127.0.0.1:$rxp/ingest"
printf 'user = "%s:%s"\n' "$username" "$password" >"$dir/basic.cfg"
curl -sS --fail --cacert "$ca" -K "$dir/basic.cfg" -o /dev/null "https://127.0.0.1:$rxs/login"
