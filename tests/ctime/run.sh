#!/usr/bin/env bash
# Run one constant-time check program under valgrind memcheck and print the
# TESTRESULT line that tests/run_checks.sh sums. Builds nothing.
#
#   tests/ctime/run.sh [--expect-flagged] build/ctime/ctime_scalar [args...]
#
# The program marks its secrets undefined; any branch or memory index on them
# is a memcheck error, which makes valgrind exit with 42. Pass: valgrind and
# the program both exit 0. Output: TESTRESULT ctime_<name> 1 0 (or 0 1), where
# <name> is the binary's name without its ctime_ prefix.
#
# --expect-flagged is the check's self-test (build/ctime-inject/): the binary
# was built with a deliberate secret branch, and the run passes only if
# memcheck reports it (exit 42). Output: TESTRESULT ctime_<name>_flags_injected_branch.
set -u
expect_flagged=0
if [ "${1:-}" = --expect-flagged ]; then
    expect_flagged=1
    shift
fi
if [ $# -lt 1 ]; then
    echo "usage: $0 [--expect-flagged] BINARY [ARGS...]" >&2
    exit 2
fi
bin=$1
shift
name=$(basename "$bin")
name=ctime_${name#ctime_}
[ $expect_flagged = 1 ] && name=${name}_flags_injected_branch

fail() {
    echo "$name: $*"
    echo "TESTRESULT $name 0 1"
    exit 1
}

[ -x "$bin" ] || fail "no executable $bin (build it first)"
command -v valgrind >/dev/null 2>&1 || fail "valgrind is not installed (make deps)"

valgrind --tool=memcheck --error-exitcode=42 --track-origins=yes --num-callers=30 \
    "$bin" "$@"
rc=$?
if [ $expect_flagged = 1 ]; then
    case $rc in
    42) echo "$name: memcheck flagged the injected secret-dependent branch, as it must"
        echo "TESTRESULT $name 1 0" ;;
    0) fail "memcheck did NOT flag the injected secret-dependent branch: the check is blind" ;;
    *) fail "the program failed (exit $rc)" ;;
    esac
    exit 0
fi
case $rc in
0) echo "$name: no secret-dependent branches or memory accesses found"
   echo "TESTRESULT $name 1 0" ;;
42) fail "memcheck found secret-dependent branches or memory accesses (see above)" ;;
*) fail "the program failed (exit $rc)" ;;
esac
