# Simulated WAN (issue 14): a 2-of-3 cluster of real daemons over mutual TLS
# where the coordinator and each party run in their own network namespace,
# linked coordinator <-> party i by tests/integration/wanlink.c (a user-space
# netem: this machine's kernel has no sch_netem). Sourced by
# tests/integration/wan.sh and bench/wan.sh after tests/lib.sh and
# tests/integration/lib.sh ($BUILD, $WORK, ok/not_ok, wait_until).
#
# Topology (addresses exist only inside namespaces this script creates; each
# namespace has lo and its one link, nothing reaches the host or beyond):
#   coordinator ns: w1..w3 (10.201.0.1 peer 10.201.i.2); listens on
#                   10.201.0.1:PORT for parties and 127.0.0.1:PORT for the
#                   operator client, which runs in the same namespace (the
#                   operator is not across the WAN: the figures are the
#                   coordinator <-> parties cost).
#   party i ns:     wan0 (10.201.i.2 peer 10.201.0.1); dials 10.201.0.1:PORT.
# One-way delay per link = RTT/2, so every host is RTT from the coordinator
# and a relayed party-to-party message takes one RTT.
#
# wan_cleanup (install it in the EXIT trap) kills every process started and
# deletes the namespaces, also after a failure.

WAN_NS="tsswan$$"
WAN_PIDS=()
WAN_LINK_PID=""

wan_cleanup() {
    local p
    for p in "${WAN_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${WAN_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    WAN_PIDS=()
    if [ -n "$WAN_LINK_PID" ]; then
        kill -TERM "$WAN_LINK_PID" 2>/dev/null
        wait "$WAN_LINK_PID" 2>/dev/null
    fi
    for p in c p1 p2 p3; do ip netns del "$WAN_NS$p" 2>/dev/null; done
    return 0
}

# wan_reap_stale: namespaces left by a run that was SIGKILLed (its pid is gone).
wan_reap_stale() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^tsswan[0-9]+(c|p[0-9]+)$'); do
        pid=${ns#tsswan}; pid=${pid%c}; pid=${pid%p[0-9]*}
        kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
    done
    return 0
}

# wan_possible: 0 if namespaces and TUN devices can be made here, else prints why.
wan_possible() {
    [ "$(id -u)" = 0 ] || { echo "needs root (ip netns, /dev/net/tun)"; return 1; }
    command -v ip >/dev/null || { echo "iproute2 (ip) missing"; return 1; }
    [ -c /dev/net/tun ] || { echo "/dev/net/tun missing"; return 1; }
    ip netns add "${WAN_NS}probe" 2>/dev/null || { echo "ip netns add failed (no CAP_SYS_ADMIN?)"; return 1; }
    ip netns del "${WAN_NS}probe"
    wan_reap_stale
    return 0
}

wan_in() { local ns=$1; shift; ip netns exec "$WAN_NS$ns" "$@"; }

# wan_params DELAY_US JITTER_US LOSS_PPM: change the running links (wanlink SIGHUP).
wan_params() {
    echo "$1 $2 $3" > "$WORK/wan.params"
    kill -HUP "$WAN_LINK_PID"
}

# wan_setup DELAY_US JITTER_US LOSS_PPM [SEED]: namespaces, links, PKI, keystores,
# configs, daemons; waits until the 3 parties are connected. Returns non-zero
# with a message on stderr on failure.
wan_setup() {
    local root i j
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$WORK/wanlink" "$root/tests/integration/wanlink.c" \
        2>"$WORK/wanlink.build" || { echo "wanlink did not build: $(cat "$WORK/wanlink.build")" >&2; return 1; }
    for i in c p1 p2 p3; do
        ip netns add "$WAN_NS$i" || return 1
        ip -n "$WAN_NS$i" link set lo up || return 1
    done
    echo "$1 $2 $3" > "$WORK/wan.params"
    "$WORK/wanlink" --delay-us "$1" --jitter-us "$2" --loss-ppm "$3" --seed "${4:-1}" \
        --params "$WORK/wan.params" --stats "$WORK/wan.stats" \
        "${WAN_NS}c:w1=${WAN_NS}p1:wan0" "${WAN_NS}c:w2=${WAN_NS}p2:wan0" "${WAN_NS}c:w3=${WAN_NS}p3:wan0" \
        > "$WORK/wanlink.out" 2> "$WORK/wanlink.log" &
    WAN_LINK_PID=$!
    wait_until 10 grep -q ready "$WORK/wanlink.out" || { echo "wanlink: $(cat "$WORK/wanlink.log")" >&2; return 1; }
    for i in 1 2 3; do
        ip -n "${WAN_NS}c" addr add 10.201.0.1 peer "10.201.$i.2" dev "w$i" || return 1
        ip -n "${WAN_NS}c" link set "w$i" up || return 1
        ip -n "${WAN_NS}p$i" addr add "10.201.$i.2" peer 10.201.0.1 dev wan0 || return 1
        ip -n "${WAN_NS}p$i" link set wan0 up || return 1
    done

    cd "$WORK" || return 1
    local ctl=$BUILD/tssctl
    "$ctl" pki init-ca --out ca --days 30 >/dev/null 2>>pki.log || return 1
    "$ctl" pki issue --ca ca --identity urn:tssd:coordinator --out coord --ip 127.0.0.1 --ip 10.201.0.1 \
        --days 30 >/dev/null 2>>pki.log || return 1
    "$ctl" pki issue --ca ca --identity urn:tssd:operator:alice --out op --days 30 >/dev/null 2>>pki.log || return 1
    printf 'wan passphrase (throwaway)\n' > pass; chmod 600 pass
    for i in 1 2 3; do
        "$ctl" pki issue --ca ca --identity "urn:tssd:party:$i" --out "p$i" --days 30 >/dev/null 2>>pki.log || return 1
        "$BUILD/tss-keystore" init --dir "$WORK/ks$i" --party-id "$i" --kdf interactive \
            --passphrase-file pass > "id$i" 2>>ks.log || return 1
    done
    WAN_PORT=$((20000 + RANDOM % 40000)) # a fresh namespace: nothing else listens there
    {
        echo "listen: [127.0.0.1:$WAN_PORT, 10.201.0.1:$WAN_PORT]"
        echo "tls: {cert: $WORK/coord/cert.pem, key: $WORK/coord/key.pem, ca: $WORK/ca/ca.pem}"
        echo "parties:"
        for i in 1 2 3; do echo "  - {id: $i, identity: \"urn:tssd:party:$i\"}"; done
        echo "operators:"
        echo "  - {name: alice, identity: \"urn:tssd:operator:alice\"}"
        echo "state_dir: $WORK/cstate"
        echo "limits: {max_sessions: 64, max_queued: 1024}"
        # Rounds take RTT each; with loss a TCP retransmission adds >= 200 ms.
        # liveness 30s: a keygen keeps a party's loop busy for seconds on a loaded machine.
        echo "timeouts: {heartbeat: 2s, handshake: 10s, idle: 60s, liveness: 30s, round: 20s, queue: 60s}"
        echo "log_level: info"
    } > coord.yaml
    for i in 1 2 3; do
        {
            echo "party_id: $i"
            echo "keystore: {dir: $WORK/ks$i, passphrase: {file: $WORK/pass}}"
            echo "coordinator: {address: [10.201.0.1:$WAN_PORT]}"
            echo "tls: {cert: $WORK/p$i/cert.pem, key: $WORK/p$i/key.pem, ca: $WORK/ca/ca.pem}"
            echo "peers:"
            for j in 1 2 3; do [ "$j" = "$i" ] || echo "  - {id: $j, identity: \"$(cat "id$j")\"}"; done
            echo "timeouts: {heartbeat: 2s, connect: 5s, round: 20s, backoff_initial: 200ms, backoff_max: 1s}"
            echo "state_dir: $WORK/pstate$i"
            echo "log_level: info"
        } > "party$i.yaml"
    done
    printf 'coordinator: {address: [127.0.0.1:%s]}\ntls: {cert: %s/op/cert.pem, key: %s/op/key.pem, ca: %s/ca/ca.pem}\ntimeouts: {connect: 5s, request: 60s}\n' \
        "$WAN_PORT" "$WORK" "$WORK" "$WORK" > op.yaml

    # `ip netns exec` execs the daemon, so $! is the daemon itself (never via a
    # shell function: its subshell's pid would be killed and the daemon left).
    ip netns exec "${WAN_NS}c" "$BUILD/tss-coordinator" --config "$WORK/coord.yaml" 2>>"$WORK/coord.log" &
    WAN_PIDS+=("$!")
    for i in 1 2 3; do
        ip netns exec "${WAN_NS}p$i" "$BUILD/tss-party" --config "$WORK/party$i.yaml" 2>>"$WORK/party$i.log" &
        WAN_PIDS+=("$!")
    done
    wait_until 60 wan_connected 3 || { echo "the parties did not connect over the WAN links in 60 s" >&2; return 1; }
}

wan_status() { wan_in c timeout 20 "$BUILD/tssctl" --config "$WORK/op.yaml" status --json 2>/dev/null; }
wan_connected() { [ "$(wan_status | grep -o '"connected":true' | wc -l)" = "$1" ]; }

# wan_e2e OUT RUNS PRESIGN [CONCURRENCY PER_WORKER]: tss-bench --suite e2e in the coordinator's
# namespace (keygen, RUNS sequential full signs after 5 warm-up signs, a throughput
# burst, PRESIGN presignatures then as many presigned signs); JSON in OUT.
wan_e2e() {
    wan_in c timeout "${WAN_E2E_TIMEOUT:-600}" "$BUILD/tss-bench" --suite e2e --op-config "$WORK/op.yaml" --json --threshold 2 \
        --runs "$2" --concurrency "${4:-1}" --per-worker "${5:-1}" --presign "$3" > "$1" 2>"$1.err"
}

# json_obj FILE KEY: the flat object after "KEY": ; json_num TEXT KEY
json_obj() { grep -o "\"$2\":{[^{}]*}" "$1" | head -n 1 | sed "s/^\"$2\"://"; }
json_num() { printf '%s' "$1" | grep -o "\"$2\":[-0-9.]*" | head -n 1 | cut -d: -f2; }
