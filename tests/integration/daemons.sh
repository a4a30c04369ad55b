#!/usr/bin/env bash
# Coordinator, three parties and tssctl as real processes over real mutual TLS
# 1.3 on 127.0.0.1 (random free ports): connection tracking, reconnects,
# refusals with their logged reasons, certificate rotation on SIGHUP, bad input
# inside TLS, configuration and keystore exit codes. Every process started here
# is killed by the EXIT trap; every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CTL=$BUILD/tssctl
cd "$WORK"

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

for b in tss-coordinator tss-party tssctl tss-keystore; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done

# ---- helpers -------------------------------------------------------------------------

free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    echo 0
}

# wait_until SECONDS CMD...: poll every 0.1 s.
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while [ "$SECONDS" -lt "$deadline" ]; do "$@" && return 0; sleep 0.1; done
    "$@"
}

lines() { wc -l < "$1"; }
# since FILE MARK: the lines appended after MARK.
since() { tail -n +"$(($2 + 1))" "$1"; }
log_has() { since "$1" "$2" | grep -Eq -- "$3"; }
# expect_log NAME FILE MARK REGEX [SECONDS]
expect_log() {
    if wait_until "${5:-5}" log_has "$2" "$3" "$4"; then ok "$1"; else
        not_ok "$1" "no /$4/ in $2 since line $3:" "$(since "$2" "$3" | tail -n 15)"; fi
}

status_json() { "$CTL" --config "$WORK/op.yaml" status --json 2>"$WORK/status.err"; }
n_connected() { status_json | grep -o '"connected":true' | wc -l; }
connected_is() { [ "$(n_connected)" = "$1" ]; }
party_connected() { status_json | grep -q "{\"id\":$1,\"connected\":true"; }
party_disconnected() { status_json | grep -q "{\"id\":$1,\"connected\":false"; }
alive() { kill -0 "$1" 2>/dev/null; }

start_coord() {
    "$BUILD/tss-coordinator" --config "$WORK/coord.yaml" 2>>"$WORK/coord.log" &
    COORD=$!; PIDS+=("$COORD")
}
start_party() {
    "$BUILD/tss-party" --config "$WORK/party$1.yaml" 2>>"$WORK/party$1.log" &
    eval "P$1=\$!"; PIDS+=("$!")
}
stop_pid() { kill -TERM "$1" 2>/dev/null; wait_until 5 bash -c "! kill -0 $1 2>/dev/null"; }

# ---- PKI, keystores, configs -------------------------------------------------------------

pki() { "$CTL" pki "$@" >/dev/null 2>>"$WORK/pki.log"; }
pki init-ca --out ca --days 30 && pki init-ca --out ca2 --days 30 && pki init-ca --out other --days 30 \
    && ok "pki init-ca" || not_ok "pki init-ca" "$(cat pki.log)"
[ "$(stat -c %a ca/ca.key)" = 600 ] && ok "CA key is 0600" || not_ok "CA key is 0600"
pki issue --ca ca --identity urn:tssd:coordinator --out coord-a --ip 127.0.0.1 --dns localhost --days 30
for i in 1 2 3; do pki issue --ca ca --identity urn:tssd:party:$i --out p$i --days 30; done
pki issue --ca ca --identity urn:tssd:operator:alice --out op --days 30
pki issue --ca ca --identity urn:tssd:operator:mallory --out mallory --days 30
pki issue --ca ca --identity urn:tssd:party:2 --out revoked --days 30
pki issue --ca other --identity urn:tssd:party:1 --out foreign --days 30
[ -s p3/cert.pem ] && [ "$(stat -c %a p3/key.pem)" = 600 ] && ok "pki issue (key 0600)" \
    || not_ok "pki issue" "$(cat pki.log)"
expect_exit 64 "pki issue refuses a malformed identity" "$CTL" pki issue --ca ca --identity urn:tssd:party:0 --out bad
expect_exit 73 "pki issue never overwrites a key" "$CTL" pki issue --ca ca --identity urn:tssd:party:1 --out p1
"$CTL" pki crl --ca ca --out crl.pem --revoke revoked/cert.pem >/dev/null 2>>pki.log \
    && ok "pki crl" || not_ok "pki crl" "$(cat pki.log)"
mkdir -p coord && cp coord-a/cert.pem coord-a/key.pem coord/ && cp ca/ca.pem bundle.pem
cat ca/ca.pem other/ca.pem > bundle-foreign.pem

printf 'integration passphrase\n' > pass; chmod 600 pass
printf 'wrong\n' > wrong; chmod 600 wrong
for i in 1 2 3; do
    "$BUILD/tss-keystore" init --dir "$WORK/ks$i" --party-id "$i" --kdf interactive \
        --passphrase-file pass > "id$i" 2>>ks.log || not_ok "keystore $i" "$(cat ks.log)"
done

PORT=$(free_port)
cat > coord.yaml <<EOF
listen: [127.0.0.1:$PORT]
tls: {cert: $WORK/coord/cert.pem, key: $WORK/coord/key.pem, ca: $WORK/bundle.pem, crl: $WORK/crl.pem}
parties:
  - {id: 1, identity: "urn:tssd:party:1"}
  - {id: 2, identity: "urn:tssd:party:2"}
  - {id: 3, identity: "urn:tssd:party:3"}
operators:
  - {name: alice, identity: "urn:tssd:operator:alice"}
  - {name: bob, identity: "urn:tssd:operator:bob"}
state_dir: $WORK/cstate
timeouts: {heartbeat: 1s, handshake: 2s, idle: 4s}
log_level: info
EOF
for i in 1 2 3; do
    {
        echo "party_id: $i"
        echo "keystore: {dir: $WORK/ks$i, passphrase: {file: $WORK/pass}}"
        echo "coordinator: {address: [127.0.0.1:$PORT]}"
        echo "tls: {cert: $WORK/p$i/cert.pem, key: $WORK/p$i/key.pem, ca: $WORK/bundle.pem}"
        echo "peers:"
        for j in 1 2 3; do [ "$j" = "$i" ] || echo "  - {id: $j, identity: \"$(cat id$j)\"}"; done
        echo "timeouts: {heartbeat: 1s, connect: 2s, backoff_initial: 200ms, backoff_max: 1s}"
        echo "state_dir: $WORK/pstate$i"
    } > party$i.yaml
done
opcfg() { # name cert-dir ca-file
    printf 'coordinator: {address: [127.0.0.1:%s]}\ntls: {cert: %s/cert.pem, key: %s/key.pem, ca: %s}\ntimeouts: {connect: 3s, request: 5s}\n' \
        "$PORT" "$WORK/$2" "$WORK/$2" "$3" > "$1"
}
opcfg op.yaml op "$WORK/bundle.pem"

# ---- configuration checks ------------------------------------------------------------------

expect_exit 0 "coordinator --check accepts the config" "$BUILD/tss-coordinator" --config coord.yaml --check
expect_exit 0 "party --check accepts the config" "$BUILD/tss-party" --config party1.yaml --check
bad() { # name file regex : a broken config gives exit 78 and file:line:col
    expect_exit 78 "--check: $1 (exit 78)" "$BUILD/$4" --config "$2" --check
    expect_match "--check: $1 message" "$ERR" "$3"
}
{ cat coord.yaml; echo "bogus_key: 1"; } > c-unknown.yaml
bad "unknown key" c-unknown.yaml 'c-unknown.yaml:1[0-9]:1: bogus_key' tss-coordinator
sed 's/^log_level: info/log_level: chatty/' coord.yaml > c-enum.yaml
bad "bad enum value" c-enum.yaml 'c-enum.yaml:1[0-9]:[0-9]+: log_level' tss-coordinator
{ cat coord.yaml; echo "limits: {max_connections: 0}"; } > c-range.yaml
bad "out of range" c-range.yaml 'c-range.yaml:1[0-9]:[0-9]+: limits.max_connections' tss-coordinator
{ cat coord.yaml; echo "limits: {max_connections: many}"; } > c-type.yaml
bad "wrong type" c-type.yaml 'c-type.yaml:1[0-9]:[0-9]+: limits.max_connections' tss-coordinator
grep -v '^tls:' coord.yaml > c-missing.yaml
bad "missing required key" c-missing.yaml 'c-missing.yaml:[0-9]+:[0-9]+: .*tls' tss-coordinator
sed 's/identity: "urn:tssd:party:2"/identity: "urn:tssd:party:7"/' coord.yaml > c-ident.yaml
bad "identity does not match id" c-ident.yaml 'c-ident.yaml:[0-9]+:[0-9]+: parties\[1\].identity' tss-coordinator
sed "s|cert: $WORK/p1/cert.pem|cert: p1/cert.pem|" party1.yaml > p-rel.yaml
bad "relative path" p-rel.yaml 'p-rel.yaml:[0-9]+:[0-9]+: tls.cert' tss-party
sed 's/^party_id: 1/party_id: 33/' party1.yaml > p-id.yaml
bad "party id out of range" p-id.yaml 'p-id.yaml:1:[0-9]+: party_id' tss-party
expect_exit 78 "missing config file" "$BUILD/tss-coordinator" --config "$WORK/nope.yaml" --check
expect_match "missing config names the file" "$ERR" 'nope.yaml'
expect_exit 64 "no --config is a usage error" "$BUILD/tss-coordinator"
# Configuration errors carry a syslog priority (journalctl -p err shows why a unit exited 78).
expect_exit 78 "coordinator: broken config exits 78" "$BUILD/tss-coordinator" --config c-unknown.yaml
expect_match "coordinator: config error logged at priority err (error:)" "$ERR" '^error: tss-coordinator: configuration error: .*c-unknown.yaml:1[0-9]:1: bogus_key'
expect_exit 78 "party: broken config exits 78" "$BUILD/tss-party" --config p-id.yaml
expect_match "party: config error logged at priority err (error:)" "$ERR" '^error: tss-party: configuration error: .*party_id'
# A state directory open to group/others is refused (77) with the fix named.
mkdir -p cstate-open && chmod 750 cstate-open
sed "s|state_dir: $WORK/cstate|state_dir: $WORK/cstate-open|" coord.yaml > c-open.yaml
expect_exit 77 "coordinator: state dir accessible by group exits 77" "$BUILD/tss-coordinator" --config c-open.yaml
expect_match "coordinator: names the chmod fix" "$ERR" '^error: .*state directory .*cstate-open is accessible by group or others \(mode 0750\); fix: chmod 700 '

# ---- start everything -----------------------------------------------------------------------

start_coord
for i in 1 2 3; do start_party $i; done
if wait_until 20 connected_is 3; then ok "status: all 3 parties connected"; else
    not_ok "status: all 3 parties connected" "$(status_json; cat status.err)" "$(tail -n 20 coord.log)"; fi
expect_exit 0 "tssctl status (text)" "$CTL" --config op.yaml status
expect_match "text status lists party 3 connected with its identity" "$OUT" "^3 +connected +$(sed 's/[+/]/\\&/g' id3)"
expect_match "text status: every party's pins match the peers' identities" "$OUT" '^party 1: 2=ok 3=ok$'
status_json > st.json
for i in 1 2 3; do
    expect_match "status: party $i identity from HELLO" "$(cat st.json)" "\"id\":$i,\"connected\":true,\"certificateIdentity\":\"urn:tssd:party:$i\",\"identity\":\"$(sed 's/[+/]/\\&/g' id$i)\""
done
expect_match "status: version, notAfter and heartbeat" "$(cat st.json)" '"protocolVersion":1,"software":"tssd/0.1.0","certSha256":"[0-9a-f]{64}","certNotAfter":"20[0-9-]+T[0-9:]+Z","since":"[^"]+","lastHeartbeat":'
sleep 1.2
expect_match "status: heartbeats arrive" "$(status_json)" '"lastHeartbeatAgeMs":[0-9]+'

# Single instance per state directory; keystore failures and their exit codes.
expect_exit 73 "second coordinator on the same state dir" "$BUILD/tss-coordinator" --config coord.yaml
expect_match "lock message" "$ERR" 'already running'
sed "s|file: $WORK/pass|file: $WORK/wrong|; s|pstate1|pstate-w|" party1.yaml > p-wrong.yaml
expect_exit 77 "party: wrong passphrase exits 77" "$BUILD/tss-party" --config p-wrong.yaml
sed "s|dir: $WORK/ks1|dir: $WORK/ks-none|; s|pstate1|pstate-n|" party1.yaml > p-noks.yaml
expect_exit 66 "party: missing keystore exits 66" "$BUILD/tss-party" --config p-noks.yaml
cp -a ks1 ks-bad && printf 'garbage' | dd of=ks-bad/mnemonic.sealed bs=1 seek=60 conv=notrunc status=none
sed "s|dir: $WORK/ks1|dir: $WORK/ks-bad|; s|pstate1|pstate-c|" party1.yaml > p-corrupt.yaml
expect_exit 65 "party: corrupt keystore exits 65" "$BUILD/tss-party" --config p-corrupt.yaml
sed "s|dir: $WORK/ks1|dir: $WORK/ks2|; s|pstate1|pstate-x|" party1.yaml > p-mismatch.yaml
expect_exit 78 "party: keystore of another party exits 78" "$BUILD/tss-party" --config p-mismatch.yaml

# Certificate expiry warnings: a coordinator whose certificate has 10 days left
# warns about its own certificate at start, and a party connecting to it warns
# about the coordinator's certificate as seen at the handshake.
pki issue --ca ca --identity urn:tssd:coordinator --out coord-short --ip 127.0.0.1 --days 10
EPORT=$(free_port)
sed -e "s|127.0.0.1:$PORT|127.0.0.1:$EPORT|" -e "s|$WORK/coord/|$WORK/coord-short/|g" \
    -e "s|state_dir: $WORK/cstate|state_dir: $WORK/cstate-exp|" coord.yaml > c-exp.yaml
sed -e "s|127.0.0.1:$PORT|127.0.0.1:$EPORT|" -e "s|pstate1|pstate-exp|" party1.yaml > p-exp.yaml
"$BUILD/tss-coordinator" --config c-exp.yaml 2>>coord-exp.log & CE=$!; PIDS+=("$CE")
"$BUILD/tss-party" --config p-exp.yaml 2>>party-exp.log & PE=$!; PIDS+=("$PE")
expect_log "coordinator warns 30 days before its own notAfter" coord-exp.log 0 \
    '^warning: tls: own certificate sha256=[0-9a-f]{64} expires in (9|10) days \(notAfter='
expect_log "party warns about the coordinator's certificate seen at the handshake" party-exp.log 0 \
    '^warning: tls: coordinator certificate sha256=[0-9a-f]{64} expires in (9|10) days' 15
stop_pid "$PE"; stop_pid "$CE"

# ---- disconnect and reconnect -----------------------------------------------------------------

m=$(lines coord.log)
kill -KILL "$P2"; wait "$P2" 2>/dev/null
wait_until 8 party_disconnected 2 && ok "killed party 2 shows disconnected" \
    || not_ok "killed party 2 shows disconnected" "$(status_json)"
expect_log "coordinator logs party 2 disconnect" coord.log "$m" 'party=2 disconnected'
start_party 2
wait_until 10 party_connected 2 && ok "restarted party 2 is back" || not_ok "restarted party 2 is back" "$(status_json)"

m=$(lines coord.log)
stop_pid "$P3" && ok "party stops on SIGTERM" || not_ok "party stops on SIGTERM"
expect_log "graceful party stop is logged by the coordinator" coord.log "$m" 'party=3 disconnected: peer sent ERROR SHUTDOWN'
# A wrong pin (party 3 pins another keystore's identity for party 1) is found in one command.
"$BUILD/tss-keystore" init --dir "$WORK/ks-other" --party-id 1 --kdf interactive \
    --passphrase-file "$WORK/pass" > id-other 2>>ks.log
sed "s#$(cat id1)#$(cat id-other)#" party3.yaml > party3-badpin.yaml
"$BUILD/tss-party" --config "$WORK/party3-badpin.yaml" 2>>"$WORK/party3.log" &
BADPIN=$!; PIDS+=("$BADPIN")
wait_until 10 connected_is 3
expect_exit 0 "tssctl status with a wrong pin" "$CTL" --config op.yaml status
expect_match "status flags the mismatched pin" "$OUT" '^party 3: 1=MISMATCH 2=ok$'
expect_match "status says which pin differs and what the peer reports" "$OUT" \
    "party 3 pins party 1 as $(sed 's/[+/]/\\&/g' id-other), but party 1 reports $(sed 's/[+/]/\\&/g' id1)"
expect_match "status JSON: the pin does not match" "$(status_json)" '"pins":\[\{"id":1,"identity":"[^"]+","matches":false\}'
stop_pid "$BADPIN"
start_party 3
wait_until 10 connected_is 3 && ok "party 3 back" || not_ok "party 3 back" "$(status_json)"

m1=$(lines party1.log)
stop_pid "$COORD" && ok "coordinator stops on SIGTERM" || not_ok "coordinator stops on SIGTERM"
expect_log "party sees the coordinator's SHUTDOWN" party1.log "$m1" 'ERROR SHUTDOWN'
start_coord
wait_until 15 connected_is 3 && ok "after a coordinator restart all parties reconnect" \
    || not_ok "after a coordinator restart all parties reconnect" "$(status_json)" "$(tail -n 5 party1.log)"

# A hung coordinator (SIGSTOP) is detected by missing heartbeat acks.
m1=$(lines party1.log)
kill -STOP "$COORD"
expect_log "party detects a dead coordinator by heartbeat timeout" party1.log "$m1" 'disconnected from coordinator.*idle: no frame' 8
expect_log "party schedules a reconnect with backoff" party1.log "$m1" 'reconnecting to the coordinator in [0-9]+ ms' 3
kill -CONT "$COORD"
wait_until 15 connected_is 3 && ok "parties reconnect once the coordinator resumes" \
    || not_ok "parties reconnect once the coordinator resumes" "$(status_json)"

# ---- refusals ---------------------------------------------------------------------------------

POKE=$WORK/tls_poke
if gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$ROOT" -I"$BUILD/gen" -DWOLFSSL_OPTIONS_IGNORE_SYS -Wall -Wextra \
        -o "$POKE" "$ROOT/tests/integration/tls_poke.c" "$BUILD/libtss.a" \
        -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -lpthread -lm 2>poke-build.log; then
    ok "build the tls_poke test client"
else
    not_ok "build the tls_poke test client" "$(cat poke-build.log)"
fi
poke() { "$POKE" steps --addr "127.0.0.1:$PORT" "$@"; }
pokew() { "$POKE" wolf --addr "127.0.0.1:$PORT" "$@"; }
crt() { echo --cert "$WORK/$1/cert.pem" --key "$WORK/$1/key.pem"; }

"$POKE" issue-expired --ca ca --identity urn:tssd:party:1 --out expired 2>>pki.log
refusal() { # name regex cmd... : the command fails and the coordinator logs the reason
    local name=$1 re=$2 m; shift 2
    m=$(lines coord.log)
    "$@" >"$WORK/poke.out" 2>&1 && not_ok "refused: $name" "client succeeded: $(cat poke.out)" || ok "refused: $name"
    expect_log "refusal reason logged: $name" coord.log "$m" "$re"
}
refusal "certificate from another CA" 'TLS handshake refused: certificate from an unknown CA' \
    poke $(crt foreign) --ca "$WORK/bundle-foreign.pem" hello expect:HELLO_ACK
refusal "unknown operator identity" 'TLS handshake refused: .*urn:tssd:operator:mallory.*not configured' \
    poke $(crt mallory) --ca "$WORK/bundle.pem" status expect:STATUS_RESPONSE
opcfg mallory.yaml mallory "$WORK/bundle.pem"
expect_exit 76 "tssctl with an unconfigured operator identity is refused" "$CTL" --config mallory.yaml status
expect_match "tssctl says its identity was most likely refused and where to look" "$ERR" \
    'refused this operator certificate \(identity urn:tssd:operator:mallory.*listed under operators:'
refusal "expired certificate" 'TLS handshake refused: certificate expired' \
    pokew $(crt expired) --ca "$WORK/ca/ca.pem"
refusal "revoked certificate (CRL)" 'TLS handshake refused: certificate revoked' \
    poke $(crt revoked) --ca "$WORK/bundle.pem" hello expect:HELLO_ACK
refusal "no client certificate" 'TLS handshake refused: no client certificate' \
    pokew --ca "$WORK/ca/ca.pem"
refusal "TLS 1.2 client" 'TLS handshake refused: .*(TLS 1.3|version)' \
    pokew $(crt p1) --ca "$WORK/ca/ca.pem" --tls12
refusal "party certificate used as operator" 'STATUS_REQUEST needs an operator certificate' \
    poke $(crt p1) --ca "$WORK/bundle.pem" status expect:STATUS_RESPONSE
refusal "operator certificate used as party" 'HELLO needs a party certificate' \
    poke $(crt op) --ca "$WORK/bundle.pem" hello expect:HELLO_ACK
opcfg op-party.yaml p1 "$WORK/bundle.pem"
expect_exit 78 "tssctl refuses a party certificate locally" "$CTL" --config op-party.yaml status
expect_match "tssctl says why" "$ERR" 'needs an operator certificate'
if command -v openssl >/dev/null; then
    m=$(lines coord.log)
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -cert p1/cert.pem -key p1/key.pem \
        -CAfile ca/ca.pem </dev/null >ossl.out 2>&1
    expect_log "refused: openssl s_client -tls1_2" coord.log "$m" 'TLS handshake refused'
fi
wait_until 5 connected_is 3 && ok "refusals did not disturb the parties" || not_ok "refusals did not disturb the parties" "$(status_json)"

# ---- bad input inside TLS ----------------------------------------------------------------------

badinput() { # name regex steps...
    local name=$1 re=$2 m; shift 2
    m=$(lines coord.log)
    if poke $(crt "${BI_CERT:-p1}") --ca "$WORK/bundle.pem" "$@" >poke.out 2>&1; then ok "bad input: $name: closed"; else
        not_ok "bad input: $name: closed" "$(cat poke.out)"; fi
    expect_log "bad input: $name: logged" coord.log "$m" "$re"
}
badinput "garbage bytes" 'bad frame: frame: unsupported version' raw:474554202f20485454502f312e310d0a0d0a expect:ERROR closed
badinput "oversized length" 'bad frame: frame HEARTBEAT: payload length 1048576 exceeds' raw:0103000000100000 expect:ERROR closed
badinput "unknown type" 'bad frame: frame: unknown type 0x7f' raw:017f000000000000 expect:ERROR closed
badinput "truncated frame" 'closed the connection inside a frame \(truncated frame' raw:010300000000001001020304
# The operator has said something (STATUS_REQUEST), so only the frame deadline applies.
BI_CERT=op badinput "slowloris (trickled bytes)" 'frame not completed within 2000 ms' \
    status expect:STATUS_RESPONSE trickle:0103000000000010aabbccddeeff:300 closed
badinput "silent after the handshake" 'no complete frame within 2000 ms' closed
badinput "malformed HELLO" 'bad HELLO' raw:0101000000000002ffff expect:ERROR closed
badinput "frame before HELLO" 'expected HELLO first, got HEARTBEAT' heartbeat expect:ERROR closed
alive "$COORD" && ok "coordinator still up after bad input" || not_ok "coordinator still up after bad input"
wait_until 5 connected_is 3 && ok "parties unaffected by bad input" || not_ok "parties unaffected by bad input" "$(status_json)"

# ---- certificate rotation (SIGHUP) ----------------------------------------------------------------

fp() { "$CTL" pki show --cert "$1" --json | sed 's/.*"sha256":"\([0-9a-f]*\)".*/\1/'; }
conn_fp() { "$CTL" --config "${2:-$WORK/op.yaml}" status | sed -n 's/^this connection.s certificate: sha256=//p' | grep -qx "$1"; }
OLD=$(fp coord/cert.pem)
# An operator connection held open across every reload below.
poke $(crt op) --ca "$WORK/bundle.pem" hold:9 > hold.out 2>&1 &
HOLD=$!; PIDS+=("$HOLD")
sleep 0.5

# 1. New certificate from the same CA.
pki issue --ca ca --identity urn:tssd:coordinator --out coord-b --ip 127.0.0.1 --days 30
NEW=$(fp coord-b/cert.pem)
cp coord-b/cert.pem coord/cert.pem.tmp && cp coord-b/key.pem coord/key.pem.tmp \
    && mv coord/key.pem.tmp coord/key.pem && mv coord/cert.pem.tmp coord/cert.pem
m=$(lines coord.log)
kill -HUP "$COORD"
expect_log "reload logs the new fingerprint" coord.log "$m" "reload: now serving certificate sha256=$NEW notAfter=20"
wait_until 5 conn_fp "$NEW" && ok "new connections get the new certificate (same CA)" \
    || not_ok "new connections get the new certificate (same CA)" "$("$CTL" --config op.yaml status 2>&1 | head -3)"
expect_match "status shows TLS generation 2" "$(status_json)" '"tlsGeneration":2'

# 2. A new CA: first added to every trust bundle, then the coordinator moves to it.
cat ca/ca.pem ca2/ca.pem > bundle.pem.tmp && mv bundle.pem.tmp bundle.pem
m=$(lines coord.log)
kill -HUP "$COORD" "$P1" "$P2" "$P3"
expect_log "reload with the extended trust bundle" coord.log "$m" 'reload: now serving'
pki issue --ca ca2 --identity urn:tssd:coordinator --out coord-c --ip 127.0.0.1 --days 30
pki issue --ca ca2 --identity urn:tssd:operator:bob --out bob --days 30
NEW2=$(fp coord-c/cert.pem)
cp coord-c/key.pem coord/key.pem && cp coord-c/cert.pem coord/cert.pem
m=$(lines coord.log)
kill -HUP "$COORD"
expect_log "reload onto the new CA's certificate" coord.log "$m" "reload: now serving certificate sha256=$NEW2"
wait_until 5 conn_fp "$NEW2" && ok "new connections get the certificate from the new CA" \
    || not_ok "new connections get the certificate from the new CA"
opcfg op-bob.yaml bob "$WORK/bundle.pem"
expect_exit 0 "an operator certificate from the new CA is accepted" "$CTL" --config op-bob.yaml status
m1=$(lines party3.log)
kill -KILL "$P3"; wait "$P3" 2>/dev/null
start_party 3
expect_log "a restarted party trusts the new coordinator certificate" party3.log "$m1" "connected to coordinator=.*coordinator_cert_sha256=$NEW2" 10

# 3. A broken certificate leaves the current one in service.
printf -- '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n' > coord/cert.pem
m=$(lines coord.log)
kill -HUP "$COORD"
expect_log "broken certificate: reload fails and says so" coord.log "$m" "reload: failed, keeping certificate sha256=$NEW2"
conn_fp "$NEW2" && ok "broken certificate: the old one stays in service" \
    || not_ok "broken certificate: the old one stays in service"
cp coord-a/key.pem coord/key.pem && cp coord-c/cert.pem coord/cert.pem
m=$(lines coord.log)
kill -HUP "$COORD"
expect_log "mismatched key: reload refused" coord.log "$m" 'reload: failed, keeping certificate .*(does not match|key)'
conn_fp "$NEW2" && ok "mismatched key: the old one stays in service" || not_ok "mismatched key: the old one stays in service"

# Existing connections survived all of it.
if wait "$HOLD"; then ok "an existing connection stays up across reloads"; else
    not_ok "an existing connection stays up across reloads" "$(cat hold.out)"; fi
if ! grep -q 'party=[12] disconnected' <(since coord.log "$(grep -n 'reload: SIGHUP' coord.log | head -1 | cut -d: -f1)"); then
    ok "parties 1 and 2 stayed connected across reloads"; else
    not_ok "parties 1 and 2 stayed connected across reloads" "$(grep 'disconnected' coord.log | tail -3)"; fi
wait_until 10 connected_is 3 && ok "all parties connected at the end" || not_ok "all parties connected at the end" "$(status_json)"

# ---- graceful stop of everything ------------------------------------------------------------------
for p in "$P1" "$P2" "$P3" "$COORD"; do stop_pid "$p"; done
if ! alive "$COORD" && ! alive "$P1" && ! alive "$P2" && ! alive "$P3"; then ok "all daemons stopped"; else
    not_ok "all daemons stopped"; fi
wait "$COORD"; rc=$?
[ "$rc" = 0 ] && ok "coordinator exit status 0 after SIGTERM" || not_ok "coordinator exit status 0 after SIGTERM" "rc=$rc"
finish
