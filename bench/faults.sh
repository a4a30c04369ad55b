#!/usr/bin/env bash
# Long fault-injection run over real daemons on 127.0.0.1 (`make bench` runs
# it; issue 11): a 2-of-3 cluster under concurrent signing and presigning
# load while a random daemon (coordinator or party) is killed with SIGKILL
# every 2-6 s and restarted, for FAULTS_SECONDS (default 180). Then the load
# stops, every daemon is restarted cleanly and the invariants are checked:
#   - no crash: no daemon died other than by our SIGKILL;
#   - every signature returned verifies (independent libsecp256k1 verifier,
#     tests/integration/verify_sig.c) and all r values are distinct (a reused
#     presignature or nonce would repeat r);
#   - no presignature id recorded twice, no signing session id reused;
#   - the service recovers: a sign succeeds after the faults;
#   - orphaned presignatures after reconciliation: 0 on every party.
# Prints JSON (also $BUILD/bench-faults.json) and a table; exits 1 if an
# invariant fails. Every process started here is killed on exit.
#
# Usage: bash bench/faults.sh [BUILD_DIR]
# Env: FAULTS_SECONDS (180), FAULTS_CLIENTS (6 concurrent signing loops),
#      FAULTS_KEEP (copy the run's directory, logs included, there).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build "${1:-}"
bench_workdir faults
# cluster.sh's helpers (cluster_setup/cluster_start, and its n_connected, connected_is
# over $WORK/op.yaml) replace tests/integration/lib.sh's of the same name from here.
. "$ROOT/tests/integration/cluster.sh"
LOOPS=()
cleanup() {
    local p
    for p in "${LOOPS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [ -n "${FAULTS_KEEP:-}" ] && cp -r "$WORK" "$FAULTS_KEEP"
    cluster_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench/faults.sh: $*" >&2; exit 1; }
DURATION=${FAULTS_SECONDS:-180}
CLIENTS=${FAULTS_CLIENTS:-6}
for b in tss-coordinator tss-party tssctl tss-keystore; do
    [ -x "$BUILD/$b" ] || die "$BUILD/$b missing (make all)"
done
gcc -O1 -o "$WORK/verify_sig" "$ROOT/tests/integration/verify_sig.c" -lsecp256k1 \
    || die "cannot build the independent verifier"
cluster_setup 3 3s || die "cluster setup failed"
sed -i 's/^limits: .*/limits: {max_sessions: 64, max_queued: 1024}/' coord.yaml
cluster_start || die "the parties did not connect"
"$CTL" --config op.yaml keygen --key-id kf --threshold 2 --json > keygen.json 2>keygen.err \
    || die "keygen failed: $(cat keygen.err)"
PUB=$(grep -o '"publicKey":"[^"]*"' keygen.json | cut -d'"' -f4)

# ---- load ------------------------------------------------------------------------------------
STOP=$WORK/stop
sign_loop() {
    local n=0
    while [ ! -e "$STOP" ]; do
        n=$((n + 1))
        timeout 40 "$CTL" --config op.yaml sign --key-id kf --message "faults $1 $n $RANDOM" --json \
            >> "sig$1.jsonl" 2>> "sig$1.err" && echo >> "sig$1.jsonl"
    done
}
presign_loop() {
    while [ ! -e "$STOP" ]; do
        timeout 60 "$CTL" --config op.yaml presign --key-id kf --count 20 >/dev/null 2>>presign.err
        sleep 0.2
    done
}
for i in $(seq 1 "$CLIENTS"); do sign_loop "$i" & LOOPS+=("$!"); done
presign_loop & LOOPS+=("$!")

# ---- faults ----------------------------------------------------------------------------------
kills=0 crashes=0 coord_kills=0
declare -A KILLED
echo "bench/faults.sh: $DURATION s of SIGKILL every 2-6 s under $CLIENTS signing clients" >&2
end=$((SECONDS + DURATION))
while [ "$SECONDS" -lt "$end" ]; do
    sleep "$((2 + RANDOM % 5))"
    # A daemon that is gone without our SIGKILL crashed.
    for who in coord 1 2 3; do
        if [ "$who" = coord ]; then pid=$COORD; else v=P$who; pid=${!v}; fi
        if ! alive "$pid" && [ -z "${KILLED[$pid]:-}" ]; then
            crashes=$((crashes + 1)); echo "bench/faults.sh: $who (pid $pid) died on its own" >&2
            if [ "$who" = coord ]; then start_coord; else start_party "$who"; fi
        fi
    done
    victim=$((RANDOM % 4))
    if [ "$victim" = 0 ]; then
        KILLED[$COORD]=1; kill -KILL "$COORD"; wait "$COORD" 2>/dev/null
        coord_kills=$((coord_kills + 1)); sleep 0.5; start_coord
    else
        v=P$victim; KILLED[${!v}]=1; kill -KILL "${!v}"; wait "${!v}" 2>/dev/null
        sleep 0.5; start_party "$victim"
    fi
    kills=$((kills + 1))
done
touch "$STOP"
for p in "${LOOPS[@]}"; do wait "$p" 2>/dev/null; done
LOOPS=()

# ---- recovery and invariants -------------------------------------------------------------------
for who in coord 1 2 3; do
    if [ "$who" = coord ]; then pid=$COORD; else v=P$who; pid=${!v}; fi
    alive "$pid" || [ -n "${KILLED[$pid]:-}" ] || crashes=$((crashes + 1))
done
# A clean restart of everything: reconciliation runs at every connection.
for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
PIDS=()
M1=$(wc -l < party1.log); M2=$(wc -l < party2.log); M3=$(wc -l < party3.log)
cluster_start || die "the cluster did not come back"
recovered=0
for _ in 1 2 3 4 5; do
    if timeout 40 "$CTL" --config op.yaml sign --key-id kf --message "after the faults" --json > final.json 2>final.err; then
        recovered=1; break; fi
    sleep 1
done
reconciled() { tail -n +"$(($2 + 1))" "party$1.log" | grep -q "key=kf: reconciliation\|presignatures listed"; }
for i in 1 2 3; do m=M$i; wait_until 10 reconciled "$i" "${!m}"; done
sleep 1 # the deletions follow the listing within one round trip

available() {
    awk '$1 == "+" { a[$2] = 1 } $1 == "-" { delete a[$2] } END { for (k in a) print k }' \
        cstate/presig/kf.log 2>/dev/null | sort
}
on_party() { ls "pstate$1/presig/kf" 2>/dev/null | sed -n 's/\.presig$//p' | sort; }
orphans=0
for i in 1 2 3; do orphans=$((orphans + $(comm -23 <(on_party "$i") <(available) | grep -c .))); done
dup_presig=$(awk '$1 == "+" { print $2 }' cstate/presig/kf.log 2>/dev/null | sort | uniq -d | grep -c .)

cat sig*.jsonl final.json 2>/dev/null | grep -o '{.*}' > all.jsonl
signed=$(grep -c '"ethereum"' all.jsonl)
bad=0
while IFS= read -r line; do
    eth=$(printf '%s' "$line" | grep -o '"ethereum":"[^"]*"' | cut -d'"' -f4)
    dg=$(printf '%s' "$line" | grep -o '"digest":"[^"]*"' | cut -d'"' -f4)
    [ -n "$eth" ] || continue
    "$WORK/verify_sig" "$PUB" "$dg" "$eth" >/dev/null 2>&1 || bad=$((bad + 1))
done < all.jsonl
dup_r=$(grep -o '"ethereum":"[^"]*"' all.jsonl | cut -d'"' -f4 | sed 's/^0x//' | cut -c1-64 | sort | uniq -d | grep -c .)
dup_sid=$(cat cstate/audit/audit-*.log 2>/dev/null | grep '"request":"sign".*"outcome":"ok"' | grep -o '"session":"[0-9a-f]*"' | sort | uniq -d | grep -c .)
presigned=$(grep -c '"presigned":true' all.jsonl)
failed=$(cat sig*.err 2>/dev/null | grep -c .)

verdict=ok
[ "$crashes" = 0 ] && [ "$bad" = 0 ] && [ "$dup_r" = 0 ] && [ "$dup_presig" = 0 ] && [ "$dup_sid" = 0 ] \
    && [ "$recovered" = 1 ] && [ "$orphans" = 0 ] && [ "$signed" -gt 0 ] || verdict=FAIL
printf '{"faults":{"seconds":%s,"clients":%s,"kills":%s,"coordinator_kills":%s,"crashes":%s,' \
    "$DURATION" "$CLIENTS" "$kills" "$coord_kills" "$crashes" > "$BUILD/bench-faults.json"
printf '"signatures":%s,"presigned":%s,"failed_requests":%s,"bad_signatures":%s,"duplicate_r":%s,' \
    "$signed" "$presigned" "$failed" "$bad" "$dup_r" >> "$BUILD/bench-faults.json"
printf '"duplicate_presignature_ids":%s,"duplicate_session_ids":%s,"recovered":%s,"orphans_after_reconciliation":%s,"verdict":"%s"}}\n' \
    "$dup_presig" "$dup_sid" "$recovered" "$orphans" "$verdict" >> "$BUILD/bench-faults.json"
cat "$BUILD/bench-faults.json"
echo
printf '%-44s %10s\n' "fault injection, 2-of-3 on 127.0.0.1" value
printf '%-44s %10s\n' "duration (s)" "$DURATION" "SIGKILLs (of which coordinator)" "$kills ($coord_kills)" \
    "crashes (must be 0)" "$crashes" "signatures returned" "$signed" "  of which presigned" "$presigned" \
    "failed requests (during faults)" "$failed" "bad signatures (must be 0)" "$bad" \
    "repeated r (must be 0)" "$dup_r" "presignature ids recorded twice (0)" "$dup_presig" \
    "session ids reused (0)" "$dup_sid" "recovered after the faults" "$recovered" \
    "orphans after reconciliation (must be 0)" "$orphans" "verdict" "$verdict"
echo "(JSON: $BUILD/bench-faults.json)"
[ "$verdict" = ok ]
