# Shared scaffolding for the bench/*.sh scripts (`make bench`): build
# directory, work directory, process cleanup, and the 2-of-3 cluster of real
# daemons on 127.0.0.1 (PKI, keystores, configurations, start-up) that most
# of them measure. Polling helpers (free_port, wait_until, connected_is...)
# come from tests/integration/lib.sh. Source it first:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init NAME TAG "${1:-}"
# Every process started through it is recorded in PIDS and stopped by
# bench_cleanup (the EXIT trap bench_init installs); every wait is bounded.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/tests/integration/lib.sh"

# bench_build [BUILD_DIR]: BUILD (argument, else $TSS_BUILD, else ./build) and CTL.
bench_build() {
    BUILD=$(cd "${1:-${TSS_BUILD:-$ROOT/build}}" && pwd) || exit 1
    CTL=$BUILD/tssctl
}

# bench_workdir TAG: a fresh $WORK (tss-bench-TAG-XXXXXX) and an empty PIDS.
bench_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/tss-bench-$1-XXXXXX")
    PIDS=()
}

# bench_init NAME TAG [BUILD_DIR]: both of the above, NAME for messages
# ("e2e" -> "bench/e2e.sh: ..."), bench_cleanup on exit.
bench_init() {
    BENCH_NAME=$1
    bench_build "${3:-}"
    bench_workdir "$2"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# bench_stop: TERM every recorded process, KILL what is left after 5 s.
bench_stop() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
    done
}
bench_cleanup() { bench_stop; rm -rf "$WORK"; }

# die MSG: the message, the tail (BENCH_DIE_TAIL lines, default 20; 0: none)
# of every non-empty log in $WORK, exit 1.
die() {
    local f
    echo "bench/$BENCH_NAME.sh: $*" >&2
    if [ "${BENCH_DIE_TAIL:-20}" -gt 0 ]; then
        for f in "$WORK"/*.log; do
            [ -s "$f" ] && { echo "--- $f" >&2; tail -n "${BENCH_DIE_TAIL:-20}" "$f" >&2; }
        done
    fi
    exit 1
}

# bench_need [BINARY...]: the cluster's programs and each BINARY must be built.
bench_need() {
    local b
    for b in tssctl tss-keystore tss-coordinator tss-party tss-bench "$@"; do
        [ -x "$BUILD/$b" ] || die "$BUILD/$b missing (make all)"
    done
}

# ---- the 2-of-3 cluster (in $WORK; configurations log at $LEVEL) -------------------------

# bench_pki: CA "ca", coordinator (127.0.0.1), operator "bench" (op), parties
# 1..3, the throw-away passphrase file "pass" and keystores ks1..ks3 (id1..id3).
bench_pki() {
    local i
    "$CTL" pki init-ca --out ca --days 90 >/dev/null 2>>pki.log || die "pki init-ca failed"
    bench_issue urn:tssd:coordinator coord --ip 127.0.0.1
    bench_issue urn:tssd:operator:bench op
    printf 'bench passphrase (throwaway)\n' > pass; chmod 600 pass
    for i in 1 2 3; do bench_issue "urn:tssd:party:$i" "p$i"; done
    tss_keystores pass || die "keystore init failed"
}

# bench_issue IDENTITY OUT [ARG...]: a certificate from CA "ca".
bench_issue() {
    "$CTL" pki issue --ca ca --identity "$1" --out "$2" "${@:3}" --days 90 >/dev/null 2>>pki.log \
        || die "pki issue failed"
}

# bench_coord_yaml PORT STATE_DIR LIMITS TIMEOUTS [LINE...]: a coordinator
# configuration on stdout for parties 1..3 and operator bench; each LINE
# follows the operators (more operators, rate_limit...); the caller appends
# what comes after log_level.
bench_coord_yaml() {
    local i
    echo "listen: [127.0.0.1:$1]"
    echo "tls: {cert: $WORK/coord/cert.pem, key: $WORK/coord/key.pem, ca: $WORK/ca/ca.pem}"
    echo "parties:"
    for i in 1 2 3; do echo "  - {id: $i, identity: \"urn:tssd:party:$i\"}"; done
    echo "operators:"
    echo "  - {name: bench, identity: \"urn:tssd:operator:bench\"}"
    [ $# -gt 4 ] && printf '%s\n' "${@:5}"
    echo "state_dir: $2"
    echo "limits: $3"
    echo "timeouts: $4"
    echo "log_level: $LEVEL"
}

# bench_party_configs COORDINATOR_LINE MAX_SESSIONS: party1..3.yaml.
bench_party_configs() {
    local i j
    for i in 1 2 3; do
        {
            echo "party_id: $i"
            echo "keystore: {dir: $WORK/ks$i, passphrase: {file: $WORK/pass}}"
            echo "$1"
            echo "tls: {cert: $WORK/p$i/cert.pem, key: $WORK/p$i/key.pem, ca: $WORK/ca/ca.pem}"
            echo "peers:"
            for j in 1 2 3; do [ "$j" = "$i" ] || echo "  - {id: $j, identity: \"$(cat "id$j")\"}"; done
            echo "limits: {max_sessions: $2}"
            echo "timeouts: {heartbeat: 1s, connect: 2s, round: 5s, backoff_initial: 200ms, backoff_max: 1s}"
            echo "state_dir: $WORK/pstate$i"
            echo "log_level: $LEVEL"
        } > "party$i.yaml"
    done
}

# bench_op_config FILE PORT REQUEST_TIMEOUT: tssctl / tss-bench as operator bench.
bench_op_config() {
    printf 'coordinator: {address: [127.0.0.1:%s]}\ntls: {cert: %s/op/cert.pem, key: %s/op/key.pem, ca: %s/ca/ca.pem}\ntimeouts: {connect: 3s, request: %s}\n' \
        "$2" "$WORK" "$WORK" "$WORK" "$3" > "$1"
}

# bench_start_coord CONFIG LOG; bench_start_parties: party1..3.yaml.
bench_start_coord() { "$BUILD/tss-coordinator" --config "$1" 2>>"$2" & PIDS+=("$!"); }
bench_start_parties() {
    local i
    for i in 1 2 3; do "$BUILD/tss-party" --config "party$i.yaml" 2>>"party$i.log" & PIDS+=("$!"); done
}

# bench_cluster_up: coord.yaml and the parties, until all 3 are connected (30 s).
bench_cluster_up() {
    bench_start_coord coord.yaml coord.log
    bench_start_parties
    wait_until 30 connected_is "$WORK/op.yaml" 3 || die "the parties did not connect within 30 s"
}

# bench_cluster LIMITS TIMEOUTS PARTY_MAX_SESSIONS [LINE...]: the whole
# single-coordinator cluster in $WORK (also the working directory from now
# on), started: PORT; coord.yaml (bench_coord_yaml with the LINEs, then the
# text of $BENCH_COORD_TAIL if set); op.yaml (request timeout 30 s).
bench_cluster() {
    local limits=$1 timeouts=$2 psess=$3
    shift 3
    cd "$WORK" || exit 1
    echo "bench/$BENCH_NAME.sh: setting up a 2-of-3 cluster in $WORK" >&2
    bench_pki
    PORT=$(free_port)
    {
        bench_coord_yaml "$PORT" "$WORK/cstate" "$limits" "$timeouts" "$@"
        [ -n "${BENCH_COORD_TAIL:-}" ] && printf '%s\n' "$BENCH_COORD_TAIL"
    } > coord.yaml
    bench_party_configs "coordinator: {address: [127.0.0.1:$PORT]}" "$psess"
    bench_op_config op.yaml "$PORT" 30s
    bench_cluster_up
}

# ---- namespaced clusters (tests/integration/wan_lib.sh) ----------------------------------

# bench_wan_init NAME [BUILD_DIR]: tests/lib.sh ($WORK), tests/integration/
# wan_lib.sh, and an EXIT trap that tears the namespaces down.
bench_wan_init() {
    BENCH_NAME=$1
    bench_build "${2:-}"
    export TSS_BUILD=$BUILD
    . "$ROOT/tests/lib.sh"
    . "$ROOT/tests/integration/wan_lib.sh"
    trap 'wan_cleanup; rm -rf "$WORK"' EXIT
    trap 'exit 130' INT TERM
}
