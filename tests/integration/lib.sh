# Shared setup for the integration scripts that run real daemons: polling
# helpers, a PKI, keystores and configurations on 127.0.0.1. Source it after
# tests/lib.sh (which provides ok/not_ok/expect_exit, $BUILD and $WORK), with
# the working directory at $WORK. Every wait here is bounded.
#
# (tests/run_checks.sh runs every tests/integration/*.sh as a suite; run on
# its own, this file reports an empty suite instead of failing.)
if [ "${BASH_SOURCE[0]}" = "$0" ]; then echo "TESTRESULT lib 0 0"; exit 0; fi

# ---- polling ----------------------------------------------------------------------------

free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    echo 0
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until SECONDS CMD...: poll every 0.1 s, then one last try.
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while [ "$SECONDS" -lt "$deadline" ]; do "$@" && return 0; sleep 0.1; done
    "$@"
}

lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
# since FILE MARK: the lines appended after line MARK.
since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }
log_has() { since "$1" "$2" | grep -Eq -- "$3"; }
# expect_log NAME FILE MARK REGEX [SECONDS]
expect_log() {
    if wait_until "${5:-5}" log_has "$2" "$3" "$4"; then ok "$1"; else
        not_ok "$1" "no /$4/ in $2 since line $3:" "$(since "$2" "$3" | tail -n 15)"; fi
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
# stop_pid PID [SIGNAL]: signal and wait up to 5 s for the process to go.
stop_pid() { kill -"${2:-TERM}" "$1" 2>/dev/null; wait_until 5 dead "$1"; }

# ---- PKI, keystores, configurations -------------------------------------------------------

# tss_pki: CA "ca", coordinator (127.0.0.1), parties 1..3, operator alice;
# bundle.pem is the trust bundle everyone uses.
tss_pki() {
    local ctl=$BUILD/tssctl i
    "$ctl" pki init-ca --out ca --days 30 >/dev/null 2>>pki.log || return 1
    "$ctl" pki issue --ca ca --identity urn:tssd:coordinator --out coord --ip 127.0.0.1 \
        --dns localhost --days 30 >/dev/null 2>>pki.log || return 1
    for i in 1 2 3; do
        "$ctl" pki issue --ca ca --identity "urn:tssd:party:$i" --out "p$i" --days 30 \
            >/dev/null 2>>pki.log || return 1
    done
    "$ctl" pki issue --ca ca --identity urn:tssd:operator:alice --out op --days 30 \
        >/dev/null 2>>pki.log || return 1
    cp ca/ca.pem bundle.pem
}

# tss_keystores PASSFILE: ks1..ks3 (interactive KDF) and their identities id1..id3.
tss_keystores() {
    local i
    for i in 1 2 3; do
        "$BUILD/tss-keystore" init --dir "$WORK/ks$i" --party-id "$i" --kdf interactive \
            --passphrase-file "$1" > "id$i" 2>>ks.log || return 1
    done
}

# tss_coord_config FILE PORT STATE_DIR : LISTEN empty ("") leaves `listen` out.
tss_coord_config() {
    {
        [ -n "$2" ] && echo "listen: [127.0.0.1:$2]"
        echo "tls: {cert: $WORK/coord/cert.pem, key: $WORK/coord/key.pem, ca: $WORK/bundle.pem}"
        echo "parties:"
        echo "  - {id: 1, identity: \"urn:tssd:party:1\"}"
        echo "  - {id: 2, identity: \"urn:tssd:party:2\"}"
        echo "  - {id: 3, identity: \"urn:tssd:party:3\"}"
        echo "operators:"
        echo "  - {name: alice, identity: \"urn:tssd:operator:alice\"}"
        echo "state_dir: $3"
        echo "timeouts: {heartbeat: 1s, handshake: 2s, idle: 4s}"
        echo "log_level: info"
    } > "$1"
}

# tss_party_config ID FILE PORT STATE_DIR PASSPHRASE_YAML (e.g. "{file: /x}")
tss_party_config() {
    local j
    {
        echo "party_id: $1"
        echo "keystore: {dir: $WORK/ks$1, passphrase: $5}"
        echo "coordinator: {address: [127.0.0.1:$3]}"
        echo "tls: {cert: $WORK/p$1/cert.pem, key: $WORK/p$1/key.pem, ca: $WORK/bundle.pem}"
        echo "peers:"
        for j in 1 2 3; do [ "$j" = "$1" ] || echo "  - {id: $j, identity: \"$(cat "$WORK/id$j")\"}"; done
        echo "timeouts: {heartbeat: 1s, connect: 2s, backoff_initial: 200ms, backoff_max: 1s}"
        echo "state_dir: $4"
    } > "$2"
}

# tss_op_config FILE PORT: tssctl as operator alice.
tss_op_config() {
    printf 'coordinator: {address: [127.0.0.1:%s]}\ntls: {cert: %s/op/cert.pem, key: %s/op/key.pem, ca: %s/bundle.pem}\ntimeouts: {connect: 3s, request: 5s}\n' \
        "$2" "$WORK" "$WORK" "$WORK" > "$1"
}

# status_json OPCONFIG; party_connected OPCONFIG ID; n_connected OPCONFIG
status_json() { timeout 10 "$BUILD/tssctl" --config "$1" status --json 2>"$WORK/status.err"; }
party_connected() { status_json "$1" | grep -q "{\"id\":$2,\"connected\":true"; }
n_connected() { status_json "$1" | grep -o '"connected":true' | wc -l; }
connected_is() { [ "$(n_connected "$1")" = "$2" ]; }
