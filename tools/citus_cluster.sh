# A local Citus cluster for the Citus tests, bench and demo: a coordinator
# and two workers, each a PostgreSQL instance of its own on a loopback port,
# in a temporary directory.  Source it, then:
#
#   citus_available                 true when Citus is installed here
#   citus_required                  in a TAP test: skip (fail in CI) without it
#   citus_start DIR PORT [DB]       start: coordinator on PORT, workers on
#                                   PORT+1 and PORT+2, database DB (crm) on
#                                   each with citus, the workers added
#   citus_add_database DB           one more database on the three, as
#                                   citus_start makes its own
#   citus_stop DIR                  stop the three and remove DIR
#
# After citus_start, psql reaches the coordinator through PGHOST/PGPORT/
# PGDATABASE/PGUSER (exported).  Runs the servers as the postgres user when
# called as root, as PostgreSQL refuses to run as root.

CITUS_PG_BIN=$("${PG_CONFIG:-pg_config}" --bindir)

citus_available() {
	[ -f "$("${PG_CONFIG:-pg_config}" --pkglibdir)/citus.so" ] &&
		[ -f "$("${PG_CONFIG:-pg_config}" --sharedir)/extension/citus.control" ]
}

# For a TAP test: where Citus is not installed, print a skip (or, in CI,
# where .ci/run installs it, a failure) and exit
citus_required() {
	citus_available && return 0
	if [ "${CI:-}" = true ]; then
		echo "1..1"
		echo "not ok 1 - Citus is installed (.ci/run installs it with ../shared/vendor/citus/build.sh)"
	else
		echo "1..0 # SKIP Citus is not installed"
	fi
	exit 0
}

# Run a command as the owner of the servers
citus_as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

citus_start() {
	local dir=$1 port=$2 db=${3:-crm} node

	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	for node in 0 1 2; do
		citus_as_owner "$CITUS_PG_BIN/initdb" -D "$dir/node$node" -A trust -U postgres \
			--no-sync >"$dir/initdb$node.log" 2>&1 || { cat "$dir/initdb$node.log"; return 1; }
		cat >>"$dir/node$node/postgresql.conf" <<EOF
shared_preload_libraries = 'citus'
port = $((port + node))
listen_addresses = 'localhost'
unix_socket_directories = '$dir'
max_prepared_transactions = 100
fsync = off
full_page_writes = off
synchronous_commit = off
max_worker_processes = 16
citus.shard_count = 8
citus.node_conninfo = 'sslmode=prefer'
EOF
		citus_as_owner "$CITUS_PG_BIN/pg_ctl" -D "$dir/node$node" -l "$dir/node$node.log" \
			-w start >/dev/null || { cat "$dir/node$node.log"; return 1; }
	done
	export PGHOST=$dir PGPORT=$port PGDATABASE=$db PGUSER=postgres
	citus_add_database "$db"
}

# A database of the cluster started last: on each node, with citus, the
# workers added (Citus keeps a cluster's nodes per database)
citus_add_database() {
	local db=$1 node

	for node in 0 1 2; do
		psql -X -q -d postgres -p $((PGPORT + node)) -c "CREATE DATABASE $db" &&
			psql -X -q -d "$db" -p $((PGPORT + node)) -c "SET client_min_messages = warning; CREATE EXTENSION citus" ||
			return 1
	done
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SELECT citus_set_coordinator_host('localhost', $PGPORT);
SELECT citus_add_node('localhost', $((PGPORT + 1)));
SELECT citus_add_node('localhost', $((PGPORT + 2)));
SQL
}

citus_stop() {
	local dir=$1 node

	for node in 0 1 2; do
		[ -f "$dir/node$node/postmaster.pid" ] &&
			citus_as_owner "$CITUS_PG_BIN/pg_ctl" -D "$dir/node$node" -m immediate -w stop >/dev/null 2>&1
	done
	rm -rf "$dir"
}
