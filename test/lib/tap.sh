# TAP output for the shell tests in test/*.sh, which tools/test runs with
# prove next to the pgTAP suites.  Source it, call plan, then is / ok.
set -u
tap_n=0

plan() { echo "1..$1"; }

# ok STATUS DESCRIPTION: passes when STATUS is 0
ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
	fi
}

# is HAVE WANT DESCRIPTION
is() {
	tap_n=$((tap_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		printf '#   have: %s\n#   want: %s\n' "$1" "$2"
	fi
}

# q DB SQL: one query, unaligned, tuples only
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
