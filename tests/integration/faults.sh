#!/usr/bin/env bash
# Fault injection against real daemons (issue 11), the coordinator built with
# ASan+UBSan (build/asan/tss-coordinator): any memory error kills it and
# fails the script. Bounded (about a minute):
#   - an authenticated operator pipelines 300000 HEARTBEATs, then 30000
#     STATUS_REQUESTs, without reading (finding 2): dropped (or rate-limited),
#     no crash;
#   - kill -9 of a random party every 2-6 s for ~30 s under 4 concurrent
#     signing clients (finding 1): the coordinator survives, every returned
#     signature verifies independently and is distinct, no presignature is
#     handed out twice and no session id repeats;
#   - SIGSTOP of a party (finding 9): with timeouts.round 30s, each of three
#     sign requests still completes within 12 s with another quorum;
#   - 320 idle TCP connections (finding 3): operators are still served, a
#     killed party gets back in, the idle sockets are closed by the preauth
#     deadline, and refusals are summarised instead of logged one by one.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

for b in tss-coordinator tss-party tssctl tss-keystore asan/tss-coordinator; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done
VS=$WORK/verify_sig
gcc -O1 -o "$VS" "$ROOT/tests/integration/verify_sig.c" -lsecp256k1 2>"$WORK/vs.err" \
    || { not_ok "build the independent verifier" "$(cat "$WORK/vs.err")"; finish; exit 1; }
POKE=$WORK/tls_poke
gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$ROOT" -I"$BUILD/gen" -DWOLFSSL_OPTIONS_IGNORE_SYS -Wall -Wextra \
    -o "$POKE" "$ROOT/tests/integration/tls_poke.c" "$BUILD/libtss.a" \
    -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -lpthread -lm 2>"$WORK/poke.err" \
    || { not_ok "build tls_poke" "$(cat "$WORK/poke.err")"; finish; exit 1; }

lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }
log_has() { since "$1" "$2" | grep -Eq -- "$3"; }
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
status_json() { timeout 15 "$CTL" --config "$WORK/op.yaml" status --json 2>"$WORK/status.err"; }
asan_clean() { ! grep -q "AddressSanitizer\|runtime error:\|LeakSanitizer" "$WORK/coord.log"; }
coord_ok() { alive "$COORD" && asan_clean; }

cluster_setup 3 30s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
sed -i -e 's/^limits: {max_sessions: 128}$/limits: {max_sessions: 128, max_unauthenticated: 64, max_unauthenticated_per_address: 32, connection_rate: 50}/' \
    -e 's/round: 30s}$/round: 30s, liveness: 2s, preauth: 2s}/' -e 's/idle: 4s/idle: 60s/' coord.yaml
sed -i 's/request: 60s/request: 40s/' op.yaml
start_coord() {
    ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
        "$BUILD/asan/tss-coordinator" --config "$WORK/coord.yaml" 2>>"$WORK/coord.log" &
    COORD=$!; PIDS+=("$COORD")
}
if cluster_start; then ok "ASan coordinator and 3 parties connected"; else
    not_ok "ASan coordinator and 3 parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "keygen 2-of-3" "$CTL" --config op.yaml keygen --key-id k --threshold 2 --json
PUB=$(json_field "$OUT" publicKey)
expect_exit 0 "presign 6" "$CTL" --config op.yaml presign --key-id k --count 6

# ---- pipelined requests from an authenticated peer (finding 2) -------------------------------
op=(--cert "$WORK/op/cert.pem" --key "$WORK/op/key.pem" --ca "$WORK/ca/ca.pem")
m=$(lines coord.log)
timeout 60 "$POKE" steps --addr "127.0.0.1:$PORT" "${op[@]}" pipeline:heartbeat:300000 sleep:3000 closed > poke1.out 2>&1
coord_ok && ok "300000 pipelined HEARTBEATs: coordinator survives" \
    || not_ok "300000 pipelined HEARTBEATs: coordinator survives" "$(tail -n 30 coord.log)"
log_has coord.log "$m" 'output queue over its cap' && ok "the non-reading peer is dropped, naming why" \
    || not_ok "the non-reading peer is dropped, naming why" "$(cat poke1.out)"
timeout 60 "$POKE" steps --addr "127.0.0.1:$PORT" "${op[@]}" pipeline:status:30000 sleep:3000 closed > poke2.out 2>&1
coord_ok && ok "30000 pipelined STATUS_REQUESTs: coordinator survives" \
    || not_ok "30000 pipelined STATUS_REQUESTs: coordinator survives" "$(tail -n 30 coord.log)"
# Dropped for not reading, or refused by the per-operator rate limit first.
[ "$(since coord.log "$m" | grep -c 'output queue over its cap')" -ge 2 ] || log_has coord.log "$m" 'rate limit' \
    && ok "the STATUS_REQUEST flooder is dropped or rate-limited" \
    || not_ok "the STATUS_REQUEST flooder is dropped or rate-limited" "$(head -5 poke2.out)"
status_json >/dev/null && ok "status still answered" || not_ok "status still answered"

# ---- kill -9 of random parties under signing load (finding 1) ---------------------------------
mkdir -p load
worker() {
    local w=$1 j=0
    while [ ! -e load/stop ]; do
        j=$((j + 1))
        timeout 45 "$CTL" --config op.yaml sign --key-id k --message "w$w-$j" --json \
            > "load/$w-$j.json" 2>"load/$w-$j.err" || rm -f "load/$w-$j.json"
    done
}
WPIDS=()
for w in 1 2 3 4; do worker "$w" & WPIDS+=("$!"); PIDS+=("$!"); done
kills=0; end=$((SECONDS + 30))
while [ "$SECONDS" -lt "$end" ]; do
    sleep $((2 + RANDOM % 5))
    i=$((1 + RANDOM % 3)); eval "pid=\$P$i"
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; kills=$((kills + 1))
    start_party "$i"
    coord_ok || break
done
touch load/stop
for p in "${WPIDS[@]}"; do wait "$p" 2>/dev/null; done
coord_ok && ok "coordinator survives $kills kill -9 of parties under load" \
    || not_ok "coordinator survives $kills kill -9 of parties under load" "$(grep -A30 'Sanitizer\|runtime error' coord.log | head -40)"
n=0; bad=0; sigs=()
for f in load/*.json; do
    [ -s "$f" ] || continue
    o=$(cat "$f"); n=$((n + 1)); eth=$(json_field "$o" ethereum); sigs+=("$eth")
    "$VS" "$PUB" "$(json_field "$o" digest)" "$eth" >/dev/null 2>&1 || bad=$((bad + 1))
done
[ "$n" -ge 5 ] && ok "signing continued under faults ($n signatures)" || not_ok "signing continued under faults ($n signatures)"
[ "$bad" = 0 ] && ok "every returned signature verifies independently" || not_ok "every returned signature verifies independently" "$bad bad"
[ "$(printf '%s\n' "${sigs[@]}" | sort -u | wc -l)" = "$n" ] && ok "all signatures distinct" || not_ok "all signatures distinct"
dup=$(grep -o 'presignature [0-9a-f]* marked used' coord.log | sort | uniq -d)
[ -z "$dup" ] && ok "no presignature handed out twice" || not_ok "no presignature handed out twice" "$dup"
dup=$(grep -o 'session=[0-9a-f]* kind=[a-z_-]* key=[^ ]* parties=[^ ]* .*starting' coord.log | cut -d' ' -f1 | sort | uniq -d)
[ -z "$dup" ] && ok "no session id used twice" || not_ok "no session id used twice" "$dup"
wait_until 20 connected_is 3 || not_ok "parties back after the kills" "$(status_json)"

# ---- a stalled party stops being chosen (finding 9) ---------------------------------------------
m=$(lines coord.log)
kill -STOP "$P3"
slow=0; fail=0; took=""
for j in 1 2 3; do
    t0=$SECONDS
    timeout 40 "$CTL" --config op.yaml sign --key-id k --message "stalled $j" --no-presign --json >/dev/null 2>stall.err || fail=$((fail + 1))
    [ $((SECONDS - t0)) -le 12 ] || slow=$((slow + 1))
    took="$took $((SECONDS - t0))s"
done
[ "$fail" = 0 ] && [ "$slow" = 0 ] && ok "party 3 stopped: 3 sign requests each done within 12 s (took$took)" \
    || not_ok "party 3 stopped: 3 sign requests each done within 12 s" "failed $fail, slow $slow, took$took" "$(cat stall.err)"
log_has coord.log "$m" 'party=3 unresponsive' && ok "the stalled party is reported unresponsive" \
    || not_ok "the stalled party is reported unresponsive"
kill -CONT "$P3"
wait_until 10 log_has coord.log "$m" 'party=3 responsive again' && ok "it is used again once it answers" \
    || not_ok "it is used again once it answers"

# ---- connection flood (finding 3) ------------------------------------------------------------------
m=$(lines coord.log)
# From another address than the operator's and the parties': within one
# address the newest handshake evicts the oldest (admission.h), so a flood
# sharing the operator's address could evict its handshake under load (this
# flaked in CI); across addresses the per-address cap leaves room for others.
"$POKE" idle --addr "127.0.0.1:$PORT" --source 127.0.0.2 --count 320 --secs 8 > flood.out 2>&1 &
FL=$!; PIDS+=("$FL")
sleep 1
served=0
for j in $(seq 1 10); do
    if status_json >/dev/null; then served=$((served + 1)); else cat "$WORK/status.err" >> flood-status.err 2>/dev/null; fi
    sleep 0.2
done
[ "$served" = 10 ] && ok "10 of 10 operator requests served during the flood" \
    || not_ok "10 of 10 operator requests served during the flood" "served $served" "$(cat flood-status.err 2>/dev/null)"
kill -KILL "$P2"; wait "$P2" 2>/dev/null; start_party 2
wait_until 15 connected_is 3 && ok "a killed party gets back in during the flood" \
    || not_ok "a killed party gets back in during the flood" "$(status_json)"
wait "$FL" 2>/dev/null
read -r _ _ closed _ opened _ < <(grep 'server closed' flood.out)
# Sockets whose SYN the full backlog dropped come back with the client's
# retransmissions (1 s, 3 s, 7 s): those accepted in the last preauth
# deadline before the count are legitimately still open, at most
# max_unauthenticated_per_address (32) at a time; allow twice that.
[ -n "$opened" ] && [ "$closed" -ge $((opened - 64)) ] && ok "idle sockets closed by the server ($closed of $opened)" \
    || not_ok "idle sockets closed by the server" "$(cat flood.out)"
few_conns() { [ "$(status_json | grep -o '"connections":[0-9]*' | cut -d: -f2)" -le 6 ]; }
wait_until 10 few_conns && ok "no idle socket left in the coordinator" || not_ok "no idle socket left in the coordinator" "$(status_json)"
w=$(since coord.log "$m" | grep -c 'conn: refusing\|evicted')
[ "$w" -le 10 ] && ok "refusals are summarised ($w lines for 320 sockets)" || not_ok "refusals are summarised" "$w lines"
coord_ok && ok "coordinator survives the flood" || not_ok "coordinator survives the flood" "$(tail -n 30 coord.log)"

kill -TERM "$COORD"; wait "$COORD"; rc=$?
[ "$rc" = 0 ] && asan_clean && ok "ASan coordinator exits cleanly" || not_ok "ASan coordinator exits cleanly" "exit $rc" "$(tail -n 30 coord.log)"
[ -n "${FAULTS_KEEP:-}" ] && cp coord.log "$FAULTS_KEEP"
finish
