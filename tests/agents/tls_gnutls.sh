#!/bin/bash
# e2e agent (issue 3): gnutls-cli (GnuTLS) as a raw HTTP/1.1 client. Sends a GET with
# X-Vault-Token for secret/data/agent/tls (api_key, token) and one for
# database/creds/readonly (username, password), each on its own connection, saving the
# responses; bash parses the bodies itself; then
#   api_key            -> HTTPS receiver, "Authorization: Bearer" (gnutls-cli,
#                         gnutls_record_send)
#   token              -> plain TCP receiver, written by bash itself on /dev/tcp (write)
#   username:password  -> HTTPS receiver, HTTP Basic auth (base64(1) encodes it; sent by
#                         gnutls-cli, gnutls_record_send)
# usage: tls_gnutls.sh VAULT_URL CA_FILE CREDS_FILE RX_TLS_PORT RX_TCP_PORT WORKDIR
# No secret and no Vault token goes into an argv. The uses along the way, each once:
#   WORKDIR/kv.resp, WORKDIR/db.resp   the responses (written by gnutls-cli)
#   WORKDIR/bearer.req                 api_key (written by bash)
#   WORKDIR/basic.txt                  username:password, raw (bash), read by base64
#   a pipe                             base64 of it (base64, into bash's $(...))
#   WORKDIR/basic.req                  the Basic header (bash)
# Both Vault requests are written before the first is sent (the token is learned when
# presented, and must not be "used" by a later write).
set -eu
vault=$1 ca=$2 creds=$3 rxs=$4 rxp=$5 dir=$6
hostport=${vault#https://}
host=${hostport%:*} port=${hostport##*:}
token=$(sed -n 's/.*"root_token": *"\([^"]*\)".*/\1/p' "$creds")
for p in kv:secret/data/agent/tls db:database/creds/readonly; do
    printf 'GET /v1/%s HTTP/1.1\r\nHost: %s\r\nX-Vault-Token: %s\r\nConnection: close\r\n\r\n' \
        "${p#*:}" "$hostport" "$token" >"$dir/${p%%:*}.req"
done

tls() {         # tls PORT HOST NAME: send NAME.req over TLS, the response into NAME.resp
    # A server that closes without close_notify (the stand-in does, after Connection:
    # close) makes gnutls-cli exit 1 after a complete response when that close comes
    # before its own bye: the response is checked instead of the exit status.
    gnutls-cli --x509cafile "$ca" --logfile "$dir/$3.log" -p "$1" "$2" \
        <"$dir/$3.req" >"$dir/$3.resp" || true
    grep -q '^HTTP/1.1 [0-9][0-9][0-9] ' "$dir/$3.resp" ||
        { echo "tls_gnutls.sh: no HTTP response from $2:$1" >&2; cat "$dir/$3.log" >&2; exit 1; }
}
field() {       # field NAME FILE: a JSON string value, parsed by bash itself (no process)
    local text re
    IFS= read -r -d '' text <"$2" || true
    re="\"$1\":\"([^\"]*)\""
    [[ $text =~ $re ]] || { echo "tls_gnutls.sh: no $1 in $2" >&2; exit 1; }
    printf -v "$1" '%s' "${BASH_REMATCH[1]}"
}
tls "$port" "$host" kv
tls "$port" "$host" db
field api_key "$dir/kv.resp"
field token "$dir/kv.resp"
field username "$dir/db.resp"
field password "$dir/db.resp"

printf 'GET /chat HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \
    "$rxs" "$api_key" >"$dir/bearer.req"
tls "$rxs" 127.0.0.1 bearer

exec 3<>"/dev/tcp/127.0.0.1/$rxp"
printf 'X-Api-Token: %s\n' "$token" >&3
exec 3>&-

printf '%s:%s' "$username" "$password" >"$dir/basic.txt"
basic=$(base64 -w0 "$dir/basic.txt")
printf 'GET /login HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n' \
    "$rxs" "$basic" >"$dir/basic.req"
tls "$rxs" 127.0.0.1 basic
grep -q '^HTTP/1.1 204' "$dir/bearer.resp" && grep -q '^HTTP/1.1 204' "$dir/basic.resp"
