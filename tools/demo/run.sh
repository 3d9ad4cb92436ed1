#!/usr/bin/env bash
# make demo: a Vault stand-in, a sample agent, the tracer; events on screen, then a report.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/secretrace-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

wait_for() {	# a file to appear, for at most 10 s
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
	echo "demo: $1 did not appear" >&2
	exit 1
}

/usr/bin/python3 "$top/tests/vault_standin.py" --listen 127.0.0.1:0 --ready-file "$work/vault" \
	--audit-log "$work/audit.log" &
pids+=($!)
/usr/bin/python3 "$top/tools/demo/receiver.py" "$work/llm" & pids+=($!)
/usr/bin/python3 "$top/tools/demo/receiver.py" "$work/chat" & pids+=($!)
wait_for "$work/vault"; wait_for "$work/llm"; wait_for "$work/chat"

creds="$work/vault.creds.json"
export VAULT_ADDR=$(head -1 "$work/vault")
export ROLE_ID=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["role_id"])' "$creds")
export SECRET_ID=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_id"])' "$creds")
export LLM_URL="http://127.0.0.1:$(cat "$work/llm")/v1/chat"
export CHAT_URL="http://127.0.0.1:$(cat "$work/chat")/hooks/chat"
export DEBUG_LOG="$work/agent-debug.log"

echo "== secretrace -- python3 tools/demo/agent.py   (Vault stand-in at $VAULT_ADDR)"
echo "   what secretrace sees, as it happens (--format text; ECS JSON goes to a file)"
echo
status=0
"$top/build/secretrace" -o "file:$work/events.json" -o text+- \
	-- /usr/bin/python3 "$top/tools/demo/agent.py" || status=$?
echo
echo "== the same events as ECS JSON, as a SIEM gets them"
cat "$work/events.json"
echo
echo "== agent exit status: $status"
echo
report="$top/build/demo-report.html"
"$top/build/secretrace" report "$work/events.json" --vault-audit "$work/audit.log" -o "$report"
echo "== where each secret went, as a picture: open $report in a browser"
