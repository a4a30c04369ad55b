#!/usr/bin/env bash
# A malicious coordinator against real party daemons (issue 10, SECURITY.md
# "a ban follows only from what the banned party provably authored in that
# very session"). tests/integration/evil_relay.c, built here against
# build/libtss.a, sits where the coordinator sits: the parties connect to it
# over mTLS (it has the coordinator's certificate), and it connects to a real
# tss-coordinator with the parties' certificates, so real sessions run while
# it replays, reuses session ids, mixes kinds, equivocates, drops, delays,
# duplicates, reorders and forges frames, per scenario (the SCENARIOS table
# below; rules in evil_relay.c's header).
#
# For every scenario, on a 2-of-3 cluster:
#   - each tssctl operation ends as the scenario expects, within a bound
#     (an attacked session aborts, it does not hang);
#   - the relay really carried out every rule (its log);
#   - no honest party bans another (party logs);
#   - every signature released verifies independently (verify_sig.c);
#   - where a party aborts a session it cannot attribute, its abort text
#     names the coordinator as a possible cause ("coordinator or party N");
#   - a party never runs a session under a wire session id it has seen before;
#   - afterwards an honest signature by parties 1 and 2 succeeds and verifies.
# ADVERSARY_ONLY="name ..." runs a subset. Every process is killed by the
# EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }
log_has() { since "$1" "$2" | grep -Eq -- "$3"; }
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

for b in tss-coordinator tss-party tssctl tss-keystore libtss.a; do
    if [ ! -e "$BUILD/$b" ]; then not_ok "$b built" "missing $BUILD/$b"; finish; exit 1; fi
done
RELAY=$WORK/evil_relay VS=$WORK/verify_sig
if gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$ROOT" -I"$BUILD/gen" -DWOLFSSL_OPTIONS_IGNORE_SYS \
    -Wall -Wextra -Werror -o "$RELAY" "$ROOT/tests/integration/evil_relay.c" "$BUILD/libtss.a" \
    -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -ljansson -lpthread -lm 2>"$WORK/relay.err" &&
    gcc -O1 -o "$VS" "$ROOT/tests/integration/verify_sig.c" -lsecp256k1 2>>"$WORK/relay.err"; then
    ok "build the malicious relay and the independent verifier"
else
    not_ok "build the malicious relay and the independent verifier" "$(cat "$WORK/relay.err")"; finish; exit 1
fi

# ---- cluster: coordinator <- relay <- parties 1..3 -----------------------------------------------
# Round timeout 3 s at the coordinator; scenarios that make a party wait tell
# the parties a shorter one (rule "timeout"), so the party's own abort text is seen.
cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
RPORT=$(free_port)
for i in 1 2 3; do sed -i "s/^coordinator: .*/coordinator: {address: [127.0.0.1:$RPORT]}/" "party$i.yaml"; done
: > scenario
start_coord
"$RELAY" --dir "$WORK" --listen "$RPORT" --upstream "$PORT" --parties 3 --scenario "$WORK/scenario" \
    2>>"$WORK/relay.log" &
RELAY_PID=$!; PIDS+=("$RELAY_PID")
for i in 1 2 3; do start_party "$i"; done
if wait_until 30 connected_is 3; then ok "three parties connected to the coordinator through the relay"; else
    not_ok "three parties connected through the relay" "$(tail -n 20 relay.log coord.log)"; finish; exit 1; fi

SEQ=0
# set_scenario NAME RULES: rules separated by ';', @KEY@ stands for the scenario's key.
set_scenario() {
    SEQ=$((SEQ + 1))
    { echo "# $SEQ $1"; printf '%s\n' "${2//@KEY@/${KEY:-}}" | tr ';' '\n'; } > scenario.tmp
    mv scenario.tmp scenario
}
# A key (KEY, PUB) made through the relay while it is passive.
new_key() {
    set_scenario "keygen-$1" ""
    KEY=$1
    expect_exit 0 "keygen $1 (2-of-3) through a passive relay" timeout 60 "$CTL" --config op.yaml \
        keygen --key-id "$1" --threshold 2 --json
    PUB=$(json_field "$OUT" publicKey)
}

check_sig() { # NAME JSON
    local eth digest out
    eth=$(json_field "$2" ethereum); digest=$(json_field "$2" digest)
    if [ -n "$eth" ] && out=$("$VS" "$PUB" "$digest" "$eth" 2>&1); then ok "$1"; else
        not_ok "$1" "verify_sig: ${out:-no signature}" "$2"; fi
}

# op SCEN EXPECT WHAT...: EXPECT ok (exit 0) + fail (non-zero), any. WHAT:
#   sign SIGNERS | presign SIGNERS | keygen KEY-ID
OPN=0
op() {
    local scen=$1 want=$2 what=$3 arg=$4 t0 rc
    OPN=$((OPN + 1))
    t0=$SECONDS
    case $what in
    sign) timeout 40 "$CTL" --config op.yaml sign --key-id "$KEY" --message "$scen $OPN" --signers "$arg" \
              --no-presign --json >op.out 2>op.err </dev/null ;;
    presign) timeout 40 "$CTL" --config op.yaml presign --key-id "$KEY" --count 1 --signers "$arg" \
              --json >op.out 2>op.err </dev/null ;;
    keygen) timeout 40 "$CTL" --config op.yaml keygen --key-id "$KEY$arg" --threshold 2 --json \
              >op.out 2>op.err </dev/null ;;
    esac
    rc=$?
    local name="$scen: $what $arg (expect $want)"
    if [ "$rc" = 124 ]; then not_ok "$name: answered" "tssctl hung past 40 s"; return; fi
    case $want in
    ok) [ "$rc" = 0 ] && ok "$name" || not_ok "$name" "exit $rc" "$(cat op.out op.err)" ;;
    fail) # an attacked session aborts: it neither succeeds nor waits for tssctl's own limit
        if [ "$rc" = 0 ]; then not_ok "$name" "it succeeded: $(cat op.out)"
        elif [ $((SECONDS - t0)) -gt 20 ]; then not_ok "$name" "it took $((SECONDS - t0)) s to abort"
        else ok "$name (exit $rc after $((SECONDS - t0)) s)"; fi ;;
    any) ok "$name (exit $rc)" ;;
    esac
    if [ "$what" = sign ] && [ "$rc" = 0 ]; then check_sig "$scen: the released signature verifies" "$(cat op.out)"; fi
}

# Party 3 can be swapped for the malicious party (evil_party.c, the real party
# objects with --wrap hooks), alone or colluding with the relay.
EVIL=$WORK/tss-party-evil
if build_evil_party "$EVIL" 2>"$WORK/evil.err"; then
    ok "build the malicious party"
else
    not_ok "build the malicious party" "$(cat "$WORK/evil.err")"; finish; exit 1
fi
PARTY3=honest
party3_as() { # honest | EVIL_MODE
    [ "$PARTY3" = "$1" ] && return 0
    stop_pid "$P3"
    wait_until 10 connected_is 2 || true
    if [ "$1" = honest ]; then start_party 3; else
        EVIL_MODE=$1 "$EVIL" --config "$WORK/party3.yaml" 2>>"$WORK/party3.log" &
        P3=$!; PIDS+=("$P3")
    fi
    PARTY3=$1
    wait_until 30 connected_is 3 || not_ok "party 3 ($1) reconnected" "$(tail -n 5 party3.log)"
}

# Columns: name | party 3 (honest or an EVIL_MODE) | operations (EXPECT WHAT ARG,
# separated by +) | relay rules (;-separated) | culprit: N = a party's abort
# must name "coordinator or party N" (the evidence cannot tell the relay from
# party N; N may be a class like [12] where either victim may abort first),
# =N = an honest party's abort must name party N (it provably authored the
# fault in this session), - = no check | what the relay's or party 3's log
# must show (the attack really happened).
SCENARIOS=(
"passthrough|honest|ok sign 1,2||-|"
"replay-reused-sid|honest|ok presign 1,2 + fail sign 1,2|record sess=1 round=1 from=1 to=2;reuse sess=2 of=1;replay sess=2 round=1 from=1 to=2|-|reuses the wire session id"
"reuse-sid-across-kinds|honest|ok presign 1,2 + fail sign 1,2|reuse sess=2 of=1|-|reuses the wire session id"
"replay-presign-into-sign|honest|ok presign 1,2 + fail sign 1,2|record sess=1 round=1 from=1 to=2;replay sess=2 round=1 from=1 to=2|1|replayed a recording"
"mix-kinds|honest|fail sign 1,2|kind sess=1 to=2 kind=3|[12]|telling party 2 the kind is presign"
"equivocate-keygen|honest|ok keygen e1 + fail keygen e2|record sess=1 round=1 from=1 to=3 bcast=1;replay sess=2 round=1 from=1 to=3 bcast=1|1|replayed a recording"
"keygen-base-ot-replay|honest|ok keygen b1 + any keygen b2|record sess=1 round=1 from=1 to=2 bcast=0;reuse sess=2 of=1;replay sess=2 round=1 from=1 to=2 bcast=0|-|reuses the wire session id"
"forge|honest|fail sign 1,2|flip sess=1 round=2 from=1 to=2|1|flip sess=1"
"substitute-other-receiver|honest|fail keygen s|record sess=1 round=1 from=1 to=2 bcast=0;replay sess=1 round=1 from=1 to=3 bcast=0 src=2|1|replayed a recording"
"split-digest|honest|fail sign 1,2|digest sess=1 to=2|-|telling party 2 another digest"
"split-key|honest|ok keygen o + fail sign 1,2|keyid sess=2 to=2 key=@KEY@o|[12]|telling party 2 the key is"
"drop|honest|fail sign 1,2|timeout sess=1 to=2 ms=1500;drop sess=1 round=2 from=1 to=2|1|drop sess=1"
"delay-past-timeout|honest|fail sign 1,2|timeout sess=1 to=2 ms=1500;delay sess=1 round=1 from=1 to=2 ms=2500|1|delayed frame delivered"
"duplicate|honest|any sign 1,2|dup sess=1 round=1 from=1 to=2|1|dup sess=1"
"reorder|honest|ok sign 1,2|reorder sess=1 round=1 from=1 to=2 nth=1|-|reordered frame delivered"
"party3-inconsistent-broadcast|equivocate|fail keygen x||=3|evil_party: sent a second, different broadcast"
"party3-equivocates-via-relay|equivocate|fail keygen y|drop sess=1 round=1 from=3 to=1 bcast=1 nth=1;drop sess=1 round=1 from=3 to=2 bcast=1 nth=2|-|evil_party: sent a second, different broadcast"
"party3-replays|replay|ok sign 1,3 + fail sign 1,3||3|evil_party: replayed the round-1 broadcast"
)

SN=0 NEED_KEY=1
for entry in "${SCENARIOS[@]}"; do
    IFS='|' read -r NAME MODE OPS RULES NAMES LOGS <<<"$entry"
    SN=$((SN + 1))
    if [ -n "${ADVERSARY_ONLY:-}" ] && ! [[ " $ADVERSARY_ONLY " == *" $NAME "* ]]; then continue; fi
    # A fresh key only when the last one may be damaged (a ban, a failed sign):
    # no scenario can hide or cause a failure in the next.
    if [ "$NEED_KEY" = 1 ]; then party3_as honest; new_key "k$SN"; NEED_KEY=0; fi
    party3_as "$MODE"
    HONEST="1 2 3"; [ "$MODE" = honest ] || HONEST="1 2"
    M_RELAY=$(lines relay.log); MARK=(0); for i in 1 2 3; do MARK[i]=$(lines "party$i.log"); done
    set_scenario "$NAME" "$RULES"
    IFS='+' read -ra OPLIST <<<"$OPS"
    for o in "${OPLIST[@]}"; do
        read -r want what arg <<<"$o"
        op "$NAME" "$want" "$what" "$arg"
        # A keygen the relay broke may still have left a usable key: it must sign.
        if [ "$what" = keygen ] && [ "$want" = any ] && [ -s op.out ] && grep -q publicKey op.out; then
            expect_exit 0 "$NAME: key $KEY$arg from the attacked keygen signs" timeout 40 "$CTL" --config op.yaml \
                sign --key-id "$KEY$arg" --message "after $NAME" --signers 1,2 --no-presign --json
            if [ -n "$(json_field "$OUT" ethereum)" ]; then
                SAVED=$PUB; PUB=$(json_field "$(cat op.out)" publicKey)
                check_sig "$NAME: its signature verifies" "$OUT"; PUB=$SAVED
            fi
        fi
    done
    if [ -n "$LOGS" ]; then # (a delayed frame may still be on its way)
        if wait_until 5 log_has relay.log "$M_RELAY" "$LOGS" || log_has party3.log "${MARK[3]}" "$LOGS"; then
            ok "$NAME: the attack really happened"
        else not_ok "$NAME: the attack really happened" "no /$LOGS/ in:" "$(since relay.log "$M_RELAY")"; fi
    fi
    RLOG=$(since relay.log "$M_RELAY")
    # Bans in honest parties' logs, except of the malicious party 3 (which they may ban).
    BANS=$(for i in $HONEST; do since "party$i.log" "${MARK[i]}"; done | grep 'banned' |
        { if [ "$MODE" = honest ]; then cat; else grep -Ev 'party 3 (failed|is banned)|culprit party=3\)'; fi; })
    if [ -z "$BANS" ]; then ok "$NAME: no honest party banned another"; else
        not_ok "$NAME: no honest party banned another" "$BANS"; fi
    if printf '%s\n' "$RLOG" | grep -q 'under a reused wire session id'; then
        not_ok "$NAME: no party runs a session under a wire session id it has seen" \
            "$(printf '%s\n' "$RLOG" | grep 'reused\|abort from' | head -n 5)"
    elif [[ "$RULES" == *reuse* ]]; then ok "$NAME: no party ran a session under a reused wire session id"; fi
    ABORTS=$(printf '%s\n' "$RLOG" | grep 'abort from party')
    if [[ "$NAMES" == =* ]]; then
        if printf '%s\n' "$ABORTS" | grep -Eq "abort from party [12] .*culprit=${NAMES#=} "; then
            ok "$NAME: an honest party's abort names party ${NAMES#=}"
        else not_ok "$NAME: an honest party's abort names party ${NAMES#=}" "${ABORTS:-no party abort seen}"; fi
    elif [ "$NAMES" != - ] && { [ -n "$ABORTS" ] || [[ "$OPS" == *fail* ]]; }; then
        # A party that cannot tell the relay from the sender must say so: the
        # agreed wording, or that culprit with a text naming the relay.
        if printf '%s\n' "$ABORTS" | grep -Eq "coordinator or party $NAMES|culprit=$NAMES .*(coordinator|relay)"; then
            ok "$NAME: the abort names the coordinator or party $NAMES"
        else not_ok "$NAME: the abort names the coordinator or party $NAMES" "${ABORTS:-no party abort seen}"; fi
    fi
    # Never an honest party named alone: an honest party's abort that names an
    # honest culprit must name the coordinator (relay) as a possible cause too.
    ALONE=$(printf '%s\n' "$ABORTS" | grep -E "abort from party [${HONEST// /}] .*culprit=[${HONEST// /}] " |
        grep -Ev 'text=.*(coordinator|relay)')
    if [ -z "$ALONE" ]; then ok "$NAME: no honest party is named alone as the culprit"; else
        not_ok "$NAME: no honest party is named alone as the culprit" "$ALONE"; fi
    [ -z "$BANS" ] || NEED_KEY=1
    set_scenario "after-$NAME" ""
    F0=$FAILED
    op "$NAME" ok sign 1,2
    [ "$FAILED" = "$F0" ] || NEED_KEY=1
done

# The relay must have stayed up the whole time (a crash would pass attacks vacuously).
if alive "$RELAY_PID"; then ok "the relay ran every scenario"; else not_ok "the relay ran every scenario" "$(tail -n 20 relay.log)"; fi
finish
