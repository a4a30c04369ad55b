#!/usr/bin/env bash
# Signing rate while a chatty operator floods the coordinator vs. quiet
# (`make bench` runs it; issue 11 finding 4). A 2-of-3 cluster on 127.0.0.1
# (tests/integration/cluster.sh), a second operator "chatty", then
# `tss-bench --suite chatty` twice: with the default per-operator rate limit
# (200/s, burst 400) and with rate limiting off (operator_rate: 0), so the
# effect of group commit and unsynced read-only records alone shows too.
# Prints JSON (also $BUILD/bench-chatty.json). Every process started here is
# killed on exit; every wait is bounded.
#
# Usage: bash bench/chatty.sh [BUILD_DIR]
# Env: BENCH_CHATTY_SECONDS (per phase, default 10), BENCH_CHATTY_SIGNERS (4),
#      BENCH_CHATTY_FLOODERS (2).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build "${1:-}"
bench_workdir chatty
# cluster.sh's helpers (cluster_setup/cluster_start, and its n_connected, connected_is
# over $WORK/op.yaml) replace tests/integration/lib.sh's of the same name from here.
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench/chatty.sh: $*" >&2; [ -s "$WORK/coord.log" ] && tail -n 20 "$WORK/coord.log" >&2; exit 1; }
bench_need
SECS=${BENCH_CHATTY_SECONDS:-10}
cluster_setup 3 5s || die "cluster setup failed"
"$CTL" pki issue --ca ca --identity urn:tssd:operator:chatty --out chatty --days 30 >/dev/null 2>>pki.log || die "pki issue failed"
sed -e "s#$WORK/op/#$WORK/chatty/#g" op.yaml > chatty.yaml
sed -i -e 's#^  - {name: alice, identity: "urn:tssd:operator:alice"}$#&\n  - {name: chatty, identity: "urn:tssd:operator:chatty"}#' \
    -e 's/^log_level: info$/log_level: notice/' coord.yaml
cp coord.yaml coord.base.yaml

run() { # NAME EXTRA-CONFIG
    cp coord.base.yaml coord.yaml
    [ -n "$2" ] && printf '%s\n' "$2" >> coord.yaml
    cluster_start || die "the parties did not connect within 20 s"
    echo "bench/chatty.sh: $1: tss-bench --suite chatty (${SECS}s quiet, ${SECS}s flooded)" >&2
    timeout $((SECS * 2 + 120)) "$BUILD/tss-bench" --suite chatty --op-config op.yaml \
        --chatty-config chatty.yaml --seconds "$SECS" --concurrency "${BENCH_CHATTY_SIGNERS:-4}" \
        --flooders "${BENCH_CHATTY_FLOODERS:-2}" --json > "$1.json" 2> "$1.err"
    local rc=$?
    grep -q '"chatty":' "$1.json" || die "tss-bench --suite chatty produced nothing (exit $rc): $(cat "$1.err")"
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait_until 10 bash -c "! kill -0 $p 2>/dev/null"; kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    PIDS=()
    return 0
}
run limited ""
run unlimited "rate_limit: {operator_rate: 0}"
body() { sed -e 's/^{"chatty"://' -e 's/}$//' "$1.json"; }
{
    printf '{"chatty":{"rate_limited_default":%s,"rate_limit_off":%s,' "$(body limited)" "$(body unlimited)"
    printf '"host":{"cpus":%s,"kernel":"%s"},"target":{"ratio":{"required":0.3}}}}\n' "$(nproc)" "$(uname -r)"
} > "$BUILD/bench-chatty.json"
cat "$BUILD/bench-chatty.json"
f() { grep -o "$2" "$1.json" | head -1 | grep -o '[0-9.]*$'; }
echo
printf '%-44s %10s %10s %8s %12s %12s\n' "signing vs. a chatty operator ($(nproc) CPUs)" "quiet/s" "flooded/s" ratio "flood req/s" "refused"
for n in limited unlimited; do
    printf '%-44s %10s %10s %8s %12s %12s\n' "$n" "$(f $n '"quiet":{"sig_per_s":[0-9.]*')" \
        "$(f $n '"chatty":{"sig_per_s":[0-9.]*')" "$(f $n '"ratio":[0-9.]*')" \
        "$(f $n '"requests_per_s":[0-9.]*')" "$(f $n '"rate_limited":[0-9]*')"
done
echo "(JSON: $BUILD/bench-chatty.json)"
