#!/bin/bash
# e2e agent: fetch a KV v2 secret with curl (X-Vault-Token header), extract
# api_key with sed, send it to a local TCP server as a Bearer token.
# usage: curl_kv.sh VAULT_URL CREDS_FILE PORT WORKDIR
# The root token never goes into an argv: curl reads the header from a file.
set -eu
vault=$1 creds=$2 port=$3 dir=$4
token=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$creds")
printf 'X-Vault-Token: %s\n' "$token" >"$dir/vault-header"
key=$(curl -sS -H @"$dir/vault-header" "$vault/v1/secret/data/agent/openai" |
      sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
[ -n "$key" ] || { echo "curl_kv.sh: no api_key in the response" >&2; exit 1; }
curl -sS -o /dev/null -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/chat"
