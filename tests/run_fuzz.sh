#!/usr/bin/env bash
# Run fuzz targets. `--smoke F` runs F for FUZZ_SMOKE_SECONDS (make check);
# otherwise every given target runs for FUZZ_SECONDS (make fuzz).
# Corpora live in tests/fuzz/corpus/<target>/ (seeds) and build/fuzz/corpus/ (grown).
set -u
smoke=0
if [ "${1:-}" = --smoke ]; then smoke=1; shift; fi
seconds=${FUZZ_SECONDS:-300}
[ $smoke = 1 ] && seconds=${FUZZ_SMOKE_SECONDS:-10}
status=0 ok=0 bad=0
for f in "$@"; do
    name=$(basename "$f")
    grown=build/fuzz/corpus/$name seeds=tests/fuzz/corpus/$name
    mkdir -p "$grown" "$seeds"
    if "$f" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix=build/fuzz/ "$grown" "$seeds" 2>build/fuzz/$name.log; then
        ok=$((ok + 1)); echo "fuzz $name: ${seconds}s clean ($(grep -Eo 'Done [0-9]+ runs' build/fuzz/$name.log))"
    else
        bad=$((bad + 1)); status=1; echo "fuzz $name: FAILED, see build/fuzz/$name.log"; tail -n 30 build/fuzz/$name.log
    fi
done
echo "TESTRESULT fuzz $ok $bad"
exit $status
