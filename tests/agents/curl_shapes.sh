#!/bin/bash
# e2e agent: fetch KV v2 secrets whose responses come chunked, gzip-encoded,
# and both, with curl, and pipe each into send_field.py, which sends api_key
# to a local TCP server.
# usage: curl_shapes.sh VAULT_URL CREDS_FILE PORT WORKDIR
set -euo pipefail
vault=$1 creds=$2 port=$3 dir=$4
here=$(dirname "$0")
token=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$creds")
printf 'X-Vault-Token: %s\n' "$token" >"$dir/vault-header"
curl -sS -H @"$dir/vault-header" -H 'X-Standin-Chunked: 1' "$vault/v1/secret/data/shape/chunked" |
    /usr/bin/python3 "$here/send_field.py" "$port" api_key
curl -sS --compressed -H @"$dir/vault-header" -H 'X-Standin-Encoding: gzip' \
    "$vault/v1/secret/data/shape/gzip" | /usr/bin/python3 "$here/send_field.py" "$port" api_key
curl -sS --compressed -H @"$dir/vault-header" -H 'X-Standin-Encoding: gzip' -H 'X-Standin-Chunked: 1' \
    "$vault/v1/secret/data/shape/both" | /usr/bin/python3 "$here/send_field.py" "$port" api_key
