#!/usr/bin/env bash
# Runs every suite of `make check` and ends with "N passed, N failed".
# Suites: unit tests (hardened build), the same under ASan+UBSan, constant-time
# checks under valgrind, CLI/integration scripts, and a short run of every fuzz
# target.
set -u
cd "$(dirname "$0")/.."
export TSS_VECTORS_DIR=${TSS_VECTORS_DIR:-$(cd .. && pwd)/shared/vectors}
export TSS_BUILD=${TSS_BUILD:-$PWD/build}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-10}
passed=0 failed=0
log_dir=build/test-logs
mkdir -p "$log_dir"

record() { # suite-name output-file exit-code
    local name=$1 out=$2 rc=$3 line p f
    line=$(grep -E '^TESTRESULT ' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        read -r _ _ p f <<<"$line"
    else
        p=0 f=1
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed after reporting
    passed=$((passed + p)); failed=$((failed + f))
    printf '%-40s %4d passed %4d failed\n' "$name" "$p" "$f"
    if [ "$f" -ne 0 ]; then sed 's/^/    /' "$out" | grep -v '^    ok ' | tail -n 40; fi
}

run_suite() { # name command...
    local name=$1; shift
    local out="$log_dir/${name//\//_}.log"
    "$@" >"$out" 2>&1
    record "$name" "$out" $?
}

for t in build/tests/test_*; do
    [ -x "$t" ] && run_suite "unit/$(basename "$t")" "$t"
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in build/asan/tests/test_*; do
    [ -x "$t" ] && run_suite "asan/$(basename "$t")" "$t"
done
unset ASAN_OPTIONS UBSAN_OPTIONS
for c in build/ctime/ctime_*; do
    [ -x "$c" ] && run_suite "ctime/$(basename "$c")" bash tests/ctime/run.sh "$c"
done
for c in build/ctime-inject/ctime_*; do # the check must flag an injected secret branch
    [ -x "$c" ] && run_suite "ctime-inject/$(basename "$c")" bash tests/ctime/run.sh --expect-flagged "$c"
done
for s in tests/cli/*.sh tests/integration/*.sh; do
    case $(basename "$s") in lib.sh | cluster.sh | wan_lib.sh | pg_lib.sh) continue ;; esac # sourced helpers
    [ -f "$s" ] && run_suite "script/$(basename "$s" .sh)" bash "$s"
done
for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    run_suite "fuzz/$(basename "$f")" bash tests/run_fuzz.sh --smoke "$f"
done

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
