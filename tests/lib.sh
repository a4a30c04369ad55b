# Shared helpers for script tests: each `check` is one case; `finish` prints
# the TESTRESULT line that tests/run_checks.sh sums.
set -u
BUILD=${TSS_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
PASSED=0 FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tssd-cli-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok $1"; shift; for l in "$@"; do echo "    $l"; done; }

# expect_exit CODE NAME CMD... : run CMD, capture stdout/stderr in $OUT/$ERR.
expect_exit() {
    local want=$1 name=$2; shift 2
    "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
    local rc=$?
    OUT=$(cat "$WORK/out"); ERR=$(cat "$WORK/err")
    if [ "$rc" = "$want" ]; then ok "$name"; else not_ok "$name" "exit $rc, expected $want" "stdout: $OUT" "stderr: $ERR"; fi
}

# expect_match NAME TEXT REGEX
expect_match() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1" "no match for /$3/ in:" "$2"; fi
}

finish() { echo "TESTRESULT $(basename "$0" .sh) $PASSED $FAILED"; [ "$FAILED" = 0 ]; }
