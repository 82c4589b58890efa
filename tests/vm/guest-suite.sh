#!/bin/bash
# Runs inside the test VM (from the repo directory): the integration test
# files named on the command line, each as root with Debian's python3, its TAP
# written to OUT/<name>.tap and its exit status and duration to OUT/<name>.rc
# (the host watches OUT through the results share; <name> is test_x, or
# test_x.test_name for one test).  A spec is test_x.py or
# test_x.py:test_name (one test, through harness.py's BERTH_TEST).
# Usage: guest-suite.sh OUT PER_FILE_TIMEOUT SPEC...
set -u
out=$1 per_file=$2
shift 2
mkdir -p "$out"
for spec in "$@"; do
	file=${spec%%:*}
	only=
	[ "$spec" != "$file" ] && only=${spec#*:}
	n=$(basename "$file" .py)${only:+.$only}   # the name the host expects
	echo "berth-vm: running $spec" >/dev/console
	start=$(date +%s.%N)
	BERTH_TEST=${only:-${BERTH_TEST:-}} timeout -k 10 "$per_file" /usr/bin/python3 "tests/integration/$file" \
		</dev/null >"$out/$n.tap.part" 2>&1
	rc=$?
	[ "$rc" -eq 124 ] && echo "# $spec: timed out after ${per_file}s in the VM" >>"$out/$n.tap.part"
	mv "$out/$n.tap.part" "$out/$n.tap"
	echo "$rc $(echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}')" >"$out/$n.rc.part"
	mv "$out/$n.rc.part" "$out/$n.rc"   # the host polls for .rc: appear whole
	echo "berth-vm: $spec exited $rc" >/dev/console
done
: >"$out/done"
