# Shared by tools/demo and tools/test: install what is missing, build and
# install the extension, and run a command against a PostgreSQL server --
# the one the PG* environment variables point at, or a throwaway cluster.

set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: the server, its build headers, pgTAP and pg_prove, and
# for the tests Chromium.
ensure_packages() {
	local missing=()
	# pg_config ships with the server package; the headers do not.
	[ -f "/usr/include/postgresql/$PG_MAJOR/server/postgres.h" ] &&
		[ -f "/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/makefiles/pgxs.mk" ] ||
		missing+=("postgresql-server-dev-$PG_MAJOR")
	[ -x "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ] || missing+=("postgresql-$PG_MAJOR")
	command -v pg_virtualenv >/dev/null || missing+=(postgresql-common)
	command -v make >/dev/null && command -v gcc >/dev/null || missing+=(build-essential)
	if [ "${1:-}" = test ]; then
		[ -f "/usr/share/postgresql/$PG_MAJOR/extension/pgtap.control" ] ||
			missing+=("postgresql-$PG_MAJOR-pgtap")
		command -v pg_prove >/dev/null ||
			missing+=(libtap-parser-sourcehandler-pgtap-perl)
		# the report page is checked in a real browser
		command -v chromium >/dev/null || missing+=(chromium)
	fi
	[ ${#missing[@]} = 0 ] && return 0
	echo "Installing ${missing[*]} ..."
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

build_and_install() {
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG"
	as_root make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
}

# True when the caller pointed us at an existing server.
have_server() {
	[ -n "${PGHOST:-}${PGPORT:-}${PGDATABASE:-}${PGSERVICE:-}" ]
}

# Run "$@" with PG* set for a server: the caller's, or a throwaway cluster
# that pg_virtualenv creates and removes again, with the postgresql.conf
# settings of CRM_CLUSTER_SETTINGS (space-separated guc=value) if any.
with_server() {
	local settings=()

	if have_server; then
		"$@"
	else
		for setting in ${CRM_CLUSTER_SETTINGS:-}; do
			settings+=(-o "$setting")
		done
		pg_virtualenv -v "$PG_MAJOR" "${settings[@]}" "$@"
	fi
}
