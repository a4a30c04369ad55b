#!/usr/bin/env bash
# Where the time goes end to end (issue 14, item 2; `make bench`): the cost
# model of docs/PERFORMANCE.md, measured on real daemons. A 2-of-3 cluster in
# network namespaces at RTT 0 (tests/integration/wan_lib.sh), whose links
# count every IP byte per party; then, per request kind (keygen, full sign,
# presign, presigned sign; signers 1,2 named, N requests each):
#   - CPU ms per request of the coordinator and of each party (sum of the
#     threads' on-CPU time from /proc/PID/task/*/schedstat, before/after);
#   - bytes per request on each party's link, both directions (IP bytes:
#     TLS records, TCP/IP headers and ACKs included);
#   - fsync/fdatasync calls per request per process (a second, identical
#     phase under `strace -c`, so tracing does not distort the CPU figures).
# Requests are issued one at a time with tssctl (a new operator connection
# each: the coordinator's figure includes one TLS handshake per request,
# measured separately with `tssctl status` and shown as "per connection").
# Then, if perf is installed, a cpu-clock profile (perf record -g) of the
# coordinator and party 1 under a concurrent full-signing load (tss-bench
# --suite e2e, concurrency 16): the top symbols go to the output.
# Output: $BUILD/bench-profile.json and a table. Needs root (namespaces).
#
# Usage: bash bench/profile.sh [BUILD_DIR]   Env: PROFILE_N (requests per kind, 30)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_DIE_TAIL=0
bench_wan_init profile "${1:-}"
N=${PROFILE_N:-30}
if ! why=$(wan_possible); then
    echo "bench/profile.sh: SKIPPED: $why" >&2
    echo '{"profile":"skipped","reason":"'"$why"'"}' > "$BUILD/bench-profile.json"
    exit 0
fi
wan_setup 0 0 0 2>"$WORK/setup.err" || die "setup failed: $(cat "$WORK/setup.err")"
cd "$WORK" || exit 1
NAMES=(coord p1 p2 p3)
ctl() { ip netns exec "${WAN_NS}c" timeout 120 "$BUILD/tssctl" --config "$WORK/op.yaml" "$@"; }

cpu_ns() { # PID: on-CPU ns of all its threads
    local t s=0
    for t in /proc/"$1"/task/*/schedstat; do read -r a _ < "$t" && s=$((s + a)); done
    echo "$s"
}
snap_cpu() { local p; for p in "${WAN_PIDS[@]}"; do cpu_ns "$p"; done | tr '\n' ' '; }
snap_bytes() { # per party: coordinator->party bytes, party->coordinator bytes
    local before
    before=$(stat -c %y "$WORK/wan.stats" 2>/dev/null)
    kill -USR1 "$WAN_LINK_PID"
    wait_until 5 bash -c "[ \"\$(stat -c %y '$WORK/wan.stats' 2>/dev/null)\" != '$before' ]" >/dev/null
    sleep 0.05
    local i
    for i in 1 2 3; do
        grep ":w$i=" "$WORK/wan.stats" | grep -o 'bytes=[0-9]*' | cut -d= -f2 | tr '\n' ' '
    done
}
# A phase: run CMD N times (or once for "batch" kinds); print per-request deltas.
KIND_ROWS=()
run_phase() { # LABEL COUNT CMD...
    local label=$1 count=$2; shift 2
    local c0 c1 b0 b1 i
    c0=($(snap_cpu)); b0=($(snap_bytes))
    for ((i = 0; i < count; i++)); do "$@" >/dev/null 2>>"$WORK/ctl.err" || die "$label: $* failed: $(tail -n 3 "$WORK/ctl.err")"; done
    c1=($(snap_cpu)); b1=($(snap_bytes))
    local row="$label"
    for i in 0 1 2 3; do row="$row $(awk -v a="${c0[$i]}" -v b="${c1[$i]}" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / 1e6 / n }')"; done
    for i in 0 1 2 3 4 5; do row="$row $(( (b1[i] - b0[i]) / N ))"; done
    KIND_ROWS+=("$row")
}
FSYNC_ROWS=()
strace_phase() { # LABEL COUNT CMD...: fsync+fdatasync per request per process
    local label=$1 count=$2 i p spids=(); shift 2
    for i in 0 1 2 3; do
        strace -f -c -e trace=fsync,fdatasync,sync_file_range,syncfs -o "$WORK/strace.$i" -p "${WAN_PIDS[$i]}" 2>/dev/null &
        spids+=("$!")
    done
    sleep 1 # strace attached
    for ((i = 0; i < count; i++)); do "$@" >/dev/null 2>>"$WORK/ctl.err" || die "$label (strace): $* failed"; done
    for p in "${spids[@]}"; do kill -INT "$p" 2>/dev/null; done
    for p in "${spids[@]}"; do wait "$p" 2>/dev/null; done
    local row="$label"
    for i in 0 1 2 3; do
        row="$row $(awk -v n="$N" '$NF ~ /^(fsync|fdatasync|sync_file_range|syncfs)$/ { s += $4 } END { printf "%.2f", s / n }' "$WORK/strace.$i")"
    done
    FSYNC_ROWS+=("$row")
}

keygen_n=0
kg() { keygen_n=$((keygen_n + 1)); ctl keygen --key-id "prof$keygen_n" --threshold 2; }
dig() { printf '%064x' "$RANDOM$RANDOM$RANDOM"; }
sign_full() { ctl sign --key-id prof1 --digest "$(dig)" --signers 1,2 --no-presign; }
sign_pre() { ctl sign --key-id prof1 --digest "$(dig)" --signers 1,2 --json | grep -q '"presigned":true'; }
status() { ctl status; }

echo "bench/profile.sh: $N requests per kind (signers 1,2) in $WORK" >&2
KG_N=$((N < 5 ? N : 5))
N_SAVE=$N
N=$KG_N; run_phase keygen "$KG_N" kg; strace_phase keygen "$KG_N" kg; N=$N_SAVE
run_phase connection "$N" status; strace_phase connection "$N" status
run_phase sign_full "$N" sign_full; strace_phase sign_full "$N" sign_full
run_phase presign "1" ctl presign --key-id prof1 --count "$N" --signers 1,2
strace_phase presign 1 ctl presign --key-id prof1 --count "$N" --signers 1,2
run_phase sign_presigned "$N" sign_pre; strace_phase sign_presigned "$N" sign_pre

# perf: coordinator and party 1 under concurrent full signing.
PERF_OUT=""
if command -v perf >/dev/null; then
    echo "bench/profile.sh: perf record (cpu-clock) of the coordinator and party 1 under load" >&2
    perf record -e cpu-clock -F 999 -g -o "$WORK/perf.coord" -p "${WAN_PIDS[0]}" >/dev/null 2>&1 & PC=$!
    perf record -e cpu-clock -F 999 -g -o "$WORK/perf.p1" -p "${WAN_PIDS[1]}" >/dev/null 2>&1 & PP=$!
    sleep 1
    wan_e2e "$WORK/load.json" 20 1 16 10
    kill -INT "$PC" "$PP"; wait "$PC" "$PP" 2>/dev/null
    for w in coord p1; do
        perf report -i "$WORK/perf.$w" --no-children --sort dso,symbol --stdio 2>/dev/null \
            | grep -E '^ +[0-9.]+%' | head -n 25 > "$WORK/top.$w"
        perf report -i "$WORK/perf.$w" --no-children --sort dso --stdio 2>/dev/null \
            | grep -E '^ +[0-9.]+%' | head -n 10 > "$WORK/dso.$w"
    done
    PERF_OUT=yes
fi

{
    printf '{"profile":{"cluster":"2-of-3 daemons in namespaces, RTT 0, signers 1,2","requests_per_kind":%s,"keygens":%s,"kinds":[' "$N" "$KG_N"
    sep=""
    for r in "${KIND_ROWS[@]}"; do
        set -- $r
        printf '%s{"kind":"%s","cpu_ms":{"coordinator":%s,"party1":%s,"party2":%s,"party3":%s},"bytes":{"to_party1":%s,"from_party1":%s,"to_party2":%s,"from_party2":%s,"to_party3":%s,"from_party3":%s}}' \
            "$sep" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "${10}" "${11}"
        sep=","
    done
    printf '],"fsyncs":['
    sep=""
    for r in "${FSYNC_ROWS[@]}"; do
        set -- $r
        printf '%s{"kind":"%s","coordinator":%s,"party1":%s,"party2":%s,"party3":%s}' "$sep" "$1" "$2" "$3" "$4" "$5"
        sep=","
    done
    printf ']}}\n'
} > "$BUILD/bench-profile.json"
cat "$BUILD/bench-profile.json"
echo
echo "per request (presign: per presignature; connection: one tssctl status, i.e. one operator TLS handshake)"
printf '%-15s %9s %9s %9s %9s | %10s %10s %10s %10s %10s %10s\n' kind "coord ms" "p1 ms" "p2 ms" "p3 ms" "->p1 B" "p1-> B" "->p2 B" "p2-> B" "->p3 B" "p3-> B"
for r in "${KIND_ROWS[@]}"; do set -- $r; printf '%-15s %9s %9s %9s %9s | %10s %10s %10s %10s %10s %10s\n' "$@"; done
echo
printf '%-15s %9s %9s %9s %9s   (fsync + fdatasync calls per request)\n' kind coord p1 p2 p3
for r in "${FSYNC_ROWS[@]}"; do set -- $r; printf '%-15s %9s %9s %9s %9s\n' "$@"; done
if [ -n "$PERF_OUT" ]; then
    for w in coord p1; do
        echo; echo "perf cpu-clock, $w, by DSO:"; cat "$WORK/dso.$w"
        echo "perf cpu-clock, $w, top symbols:"; cat "$WORK/top.$w"
    done
fi
