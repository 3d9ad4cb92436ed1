#!/bin/sh
# e2e agent: one process fetches a secret (curl, into a file); others use it: a sibling
# sends field a (python3), a grandchild started through sh -c sends field b.
# usage: sh_handoff.sh VAULT_URL CREDS_FILE PORT DIR SEND_FIELD_PY
set -eu
vault=$1 creds=$2 port=$3 dir=$4 send=$5
token=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$creds")
printf 'X-Vault-Token: %s\n' "$token" >"$dir/vault-header"
curl -sf -o "$dir/resp.json" -H @"$dir/vault-header" "$vault/v1/secret/data/handoff"
python3 "$send" "$port" a <"$dir/resp.json"
sh -c 'python3 "$0" "$1" b <"$2"' "$send" "$port" "$dir/resp.json"
