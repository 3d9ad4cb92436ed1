#!/bin/bash
# e2e agent (issue 14): curl --http2 reads secret/data/agent/h2 (api_key, token, pin) from
# an HTTP/2 Vault, then sends two requests on one HTTP/2 connection to RX_URL, each with
#   Authorization: Bearer <api_key>  (nghttp2 never indexes it: Huffman-coded both times)
#   X-Token: <token>                  (Huffman-coded and added to the table, then its index)
#   X-Pin: <pin>                      (the same, a secret too short for its Huffman forms)
#   X-Decoy: sk-<random>              (secret-looking, not a secret)
# usage: h2_curl.sh VAULT_URL CA_FILE CREDS_FILE RX_URL WORKDIR
# No secret and no token goes into an argv: curl reads headers from files this shell writes.
set -eu
vault=$1 ca=$2 creds=$3 rx=$4 dir=$5
vtoken=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$creds")
printf 'X-Vault-Token: %s\n' "$vtoken" >"$dir/vault-header"
curl -sS --fail --http2 --cacert "$ca" -H @"$dir/vault-header" \
    -o "$dir/kv.json" "$vault/v1/secret/data/agent/h2"

field() {       # field NAME FILE: a JSON string value, parsed by bash itself (no process)
    local text re
    IFS= read -r -d '' text <"$2" || true
    re="\"$1\":\"([^\"]*)\""
    [[ $text =~ $re ]] || { echo "h2_curl.sh: no $1 in $2" >&2; exit 1; }
    printf -v "$1" '%s' "${BASH_REMATCH[1]}"
}
field api_key "$dir/kv.json"
field token "$dir/kv.json"
field pin "$dir/kv.json"
decoy=$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')

{
    printf 'header = "Authorization: Bearer %s"\n' "$api_key"
    printf 'header = "X-Token: %s"\n' "$token"
    printf 'header = "X-Pin: %s"\n' "$pin"
    printf 'header = "X-Decoy: sk-%s"\n' "$decoy"
} >"$dir/h2.cfg"
curl -sS --fail --http2 --cacert "$ca" -K "$dir/h2.cfg" \
    -o /dev/null "$rx/a" -o /dev/null "$rx/b"
