# Shared setup for integration tests that run a whole cluster (coordinator,
# N parties, tssctl) as real processes on 127.0.0.1 with random ports.
# Source after tests/lib.sh; uses $BUILD and $WORK. Every process started is
# recorded in PIDS and killed by cluster_cleanup (install it as the EXIT trap).
CTL=$BUILD/tssctl
PIDS=()
cluster_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}

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

alive() { kill -0 "$1" 2>/dev/null; }
status_json() { "$CTL" --config "$WORK/op.yaml" status --json 2>/dev/null; }
n_connected() { status_json | grep -o '"connected":true' | wc -l; }
connected_is() { [ "$(n_connected)" = "$1" ]; }

# cluster_setup N [ROUND_TIMEOUT]: CA, certificates, N keystores, configs.
cluster_setup() {
    local n=$1 round=${2:-5s} i j
    N=$n
    cd "$WORK" || return 1
    "$CTL" pki init-ca --out ca --days 30 >/dev/null 2>>pki.log || return 1
    "$CTL" pki issue --ca ca --identity urn:tssd:coordinator --out coord --ip 127.0.0.1 --days 30 >/dev/null 2>>pki.log
    "$CTL" pki issue --ca ca --identity urn:tssd:operator:alice --out op --days 30 >/dev/null 2>>pki.log
    printf 'integration passphrase\n' > pass; chmod 600 pass
    for i in $(seq 1 "$n"); do
        "$CTL" pki issue --ca ca --identity "urn:tssd:party:$i" --out "p$i" --days 30 >/dev/null 2>>pki.log
        "$BUILD/tss-keystore" init --dir "$WORK/ks$i" --party-id "$i" --kdf interactive \
            --passphrase-file pass > "id$i" 2>>ks.log || return 1
    done
    PORT=$(free_port)
    {
        echo "listen: [127.0.0.1:$PORT]"
        echo "tls: {cert: $WORK/coord/cert.pem, key: $WORK/coord/key.pem, ca: $WORK/ca/ca.pem}"
        echo "parties:"
        for i in $(seq 1 "$n"); do echo "  - {id: $i, identity: \"urn:tssd:party:$i\"}"; done
        echo "operators:"
        echo "  - {name: alice, identity: \"urn:tssd:operator:alice\"}"
        echo "state_dir: $WORK/cstate"
        echo "limits: {max_sessions: 128}"
        echo "timeouts: {heartbeat: 1s, handshake: 2s, idle: 4s, round: $round}"
        echo "log_level: info"
    } > coord.yaml
    for i in $(seq 1 "$n"); do
        {
            echo "party_id: $i"
            echo "keystore: {dir: $WORK/ks$i, passphrase: {file: $WORK/pass}}"
            echo "coordinator: {address: [127.0.0.1:$PORT]}"
            echo "tls: {cert: $WORK/p$i/cert.pem, key: $WORK/p$i/key.pem, ca: $WORK/ca/ca.pem}"
            echo "peers:"
            for j in $(seq 1 "$n"); do [ "$j" = "$i" ] || echo "  - {id: $j, identity: \"$(cat "id$j")\"}"; done
            echo "limits: {max_sessions: 128}"
            echo "timeouts: {heartbeat: 1s, connect: 2s, round: $round, backoff_initial: 200ms, backoff_max: 1s}"
            echo "state_dir: $WORK/pstate$i"
            echo "log_level: info"
        } > "party$i.yaml"
    done
    printf 'coordinator: {address: [127.0.0.1:%s]}\ntls: {cert: %s/op/cert.pem, key: %s/op/key.pem, ca: %s/ca/ca.pem}\ntimeouts: {connect: 3s, request: 60s}\n' \
        "$PORT" "$WORK" "$WORK" "$WORK" > op.yaml
}

start_coord() {
    "$BUILD/tss-coordinator" --config "$WORK/coord.yaml" 2>>"$WORK/coord.log" &
    COORD=$!; PIDS+=("$COORD")
}
start_party() {
    "$BUILD/tss-party" --config "$WORK/party$1.yaml" 2>>"$WORK/party$1.log" &
    eval "P$1=\$!"; PIDS+=("$!")
}
# build_evil_party OUT: the real party objects linked with
# tests/integration/evil_party.c (never part of a production binary).
build_evil_party() {
    local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$root" -I"$BUILD/gen" -DWOLFSSL_OPTIONS_IGNORE_SYS \
        -Wall -Wextra -Werror -o "$1" "$root/tests/integration/evil_party.c" \
        "$BUILD"/obj/daemon/party/*.o "$BUILD/libtss.a" \
        -Wl,--wrap=tss_dconn_send -Wl,--wrap=tss_secure_seal \
        -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -ljansson -lpthread -lm
}
# cluster_need_binaries: the daemons and tools a cluster test runs (not_ok
# and exit when one is not built).
cluster_need_binaries() {
    local b
    for b in tss-coordinator tss-party tssctl tss-keystore; do
        if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
    done
}
# build_evil_coord OUT: the real coordinator linked with evil_coord.c (every
# session it starts reuses the session id in $EVIL_SID); compiler errors on
# stderr.
build_evil_coord() {
    local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$root" -I"$BUILD/gen" -DWOLFSSL_OPTIONS_IGNORE_SYS \
        -Wall -Wextra -Werror -o "$1" "$root/tests/integration/evil_coord.c" \
        "$BUILD"/obj/daemon/coordinator/*.o "$BUILD/libtss.a" -Wl,--wrap=randombytes_buf \
        -lsecp256k1 -lsodium -lwolfssl -lyaml -lsystemd -lpq -ljansson -lpthread -lm
}
# build_evil_coord_checked: $EVILC built, as a check (not_ok ends the test).
build_evil_coord_checked() {
    EVILC=$WORK/tss-coordinator-evil
    if build_evil_coord "$EVILC" 2>"$WORK/evilc.err"; then
        ok "build the session-id replaying coordinator"
    else
        not_ok "build the session-id replaying coordinator" "$(cat "$WORK/evilc.err")"; finish; exit 1
    fi
}
stop_pid() { kill -TERM "$1" 2>/dev/null; wait_until 5 bash -c "! kill -0 $1 2>/dev/null"; }
cluster_start() {
    local i
    start_coord
    for i in $(seq 1 "$N"); do start_party "$i"; done
    wait_until 20 connected_is "$N"
}

# The independent signature check (tests/integration/verify_sig.c, plain
# libsecp256k1, none of the project's code). cluster_verifier builds it as
# $VS (a build failure is a test failure); check_sig NAME OUTPUT PUBKEY: the
# signature in a `tssctl sign --json` OUTPUT verifies under PUBKEY.
CLUSTER_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster_verifier() {
    VS=$WORK/verify_sig
    gcc -O1 -o "$VS" "$CLUSTER_SRC/verify_sig.c" -lsecp256k1 2>"$WORK/vs.err" \
        || not_ok "build the independent verifier" "$(cat "$WORK/vs.err")"
}
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
check_sig() {
    local eth digest out
    eth=$(json_field "$2" ethereum); digest=$(json_field "$2" digest)
    if [ -n "$eth" ] && out=$("$VS" "$3" "$digest" "$eth" 2>&1); then ok "$1"; else
        not_ok "$1" "verify_sig: ${out:-no signature}" "$2"; fi
}
