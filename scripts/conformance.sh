#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance)
# against `airlock serve --conformance-fixtures` over Streamable HTTP.
#
# Two scenarios are known to be intermittent in mcp-go v1.2.1, whose own
# baseline lists them (mark3labs/mcp-go#969): the last notification of a
# call (tools-call-with-progress, tools-call-with-logging) can arrive after
# the call's result. When only those fail, each is re-run alone up to five
# times and must pass; every other failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${AIRLOCK_CACHE:-$HOME/.cache/airlock}"
[ -f "$CACHE/env.sh" ] || bash scripts/install-test-deps.sh
# shellcheck disable=SC1091
source "$CACHE/env.sh"
: "${AIRLOCK_NODE:?install-test-deps.sh did not record a node binary}"
: "${AIRLOCK_CONFORMANCE:?install-test-deps.sh did not record the conformance suite}"

FLAKY="tools-call-with-progress tools-call-with-logging"
work=$(mktemp -d)
go build -o "$work/airlock" ./cmd/airlock

# The run's store and audit key live in the scratch directory, not here.
printf 'store:\n  dsn: airlock.db\nrecorder:\n  signing_key: audit.key\n' >"$work/airlock.yaml"
"$work/airlock" serve --conformance-fixtures --config "$work/airlock.yaml" --listen 127.0.0.1:0 \
	--dev-identity conformance@localhost 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT

url=""
for _ in $(seq 1 100); do
	url=$(grep -o '"url":"[^"]*"' "$work/server.log" | head -1 | cut -d'"' -f4 || true)
	[ -n "$url" ] && break
	kill -0 $server 2>/dev/null || { cat "$work/server.log" >&2; echo "conformance: airlock did not start" >&2; exit 1; }
	sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log" >&2; echo "conformance: no URL in the server log" >&2; exit 1; }
echo "conformance: suite $(basename "$(dirname "$(dirname "$AIRLOCK_CONFORMANCE")")") against $url"

set +e
"$AIRLOCK_NODE" "$AIRLOCK_CONFORMANCE" server --url "$url" -o "$work/results" >"$work/suite.log" 2>&1
rc=$?
set -e
sed -n '/=== SUMMARY ===/,$p' "$work/suite.log"
[ $rc -eq 0 ] && exit 0

failed=$(grep -o '✗ [a-z0-9-]*' "$work/suite.log" | cut -c5- || true)
[ -n "$failed" ] || { cat "$work/suite.log"; echo "conformance: the suite failed without a failing scenario" >&2; exit 1; }
for s in $failed; do
	case " $FLAKY " in
	*" $s "*) ;;
	*) echo "conformance: $s failed" >&2; exit 1 ;;
	esac
	ok=0
	for try in 1 2 3 4 5; do
		if "$AIRLOCK_NODE" "$AIRLOCK_CONFORMANCE" server --url "$url" --scenario "$s" -o "$work/retry" >"$work/retry.log" 2>&1; then
			echo "conformance: $s passed on re-run $try (known intermittent, mcp-go#969)"
			ok=1
			break
		fi
	done
	[ $ok -eq 1 ] || { cat "$work/retry.log"; echo "conformance: $s failed 6 times" >&2; exit 1; }
done
echo "conformance: passed"
