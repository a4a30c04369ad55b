#!/usr/bin/env bash
# The daemons as systemd services, tested without a running systemd:
#   - the unit files: directives issue 7 requires, `systemd-analyze verify`
#     after `make install` into a scratch root, `systemd-analyze security
#     --offline=yes` exposure <= 2.0, and (with strace) every system call the
#     daemons make is allowed by the units' SystemCallFilter=;
#   - the sd_notify protocol, read from a real NOTIFY_SOCKET (notify_listen.c):
#     STATUS while unsealing, READY=1 only after unseal + first handshake
#     (party) or listen (coordinator), RELOADING=1/READY=1 around SIGHUP,
#     STOPPING=1 on SIGTERM, all from the main pid (NotifyAccess=main);
#   - socket activation through systemd-socket-activate (parties connect, keygen + sign);
#   - the passphrase from $CREDENTIALS_DIRECTORY, and the exit codes the
#     units' RestartPreventExitStatus= relies on; the state-directory lock;
#   - `make deb`: the package lists the units and binaries.
# Loopback only; every process started here is killed by the EXIT trap and
# every wait is bounded.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
UNITS=$ROOT/packaging/systemd
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

# make, on the binaries under test: never rebuild them here (-o).
MAKE_BUILD=$BUILD
case "$BUILD" in "$ROOT"/*) MAKE_BUILD=${BUILD#"$ROOT"/} ;; esac
tss_make() {
    timeout 300 make --no-print-directory -C "$ROOT" BUILD="$MAKE_BUILD" \
        -o "$MAKE_BUILD/tss-coordinator" -o "$MAKE_BUILD/tss-party" \
        -o "$MAKE_BUILD/tssctl" -o "$MAKE_BUILD/tss-keystore" "$@"
}

# ---- unit files: directives -------------------------------------------------------------------

# directive FILE KEY: the values of every KEY= line, one per line.
directive() { sed -n "s/^$2=//p" "$1"; }
has_directive() { # name file key regex
    local v; v=$(directive "$2" "$3")
    if printf '%s\n' "$v" | grep -Eq -- "$4"; then ok "$1"; else
        not_ok "$1" "$3= in $(basename "$2") is '$v', expected /$4/"; fi
}
for u in tss-coordinator.service tss-party@.service; do
    f=$UNITS/$u
    has_directive "$u: Type=notify" "$f" Type '^notify$'
    has_directive "$u: NotifyAccess=main" "$f" NotifyAccess '^main$'
    has_directive "$u: Restart=on-failure" "$f" Restart '^on-failure$'
    for code in 64 65 66 73 77 78; do
        has_directive "$u: exit $code is not restarted (RestartPreventExitStatus)" "$f" \
            RestartPreventExitStatus "(^| )$code( |$)"
    done
    has_directive "$u: ExecReload sends SIGHUP to the main pid" "$f" ExecReload '^/bin/kill -HUP \$MAINPID$'
    has_directive "$u: StateDirectoryMode=0700 (the keystore refuses 0755)" "$f" StateDirectoryMode '^0700$'
    has_directive "$u: UMask=0077" "$f" UMask '^0077$'
    has_directive "$u: LimitCORE=0" "$f" LimitCORE '^0$'
    has_directive "$u: empty CapabilityBoundingSet" "$f" CapabilityBoundingSet '^$'
    has_directive "$u: ProtectSystem=strict" "$f" ProtectSystem '^strict$'
    has_directive "$u: SystemCallFilter=@system-service" "$f" SystemCallFilter '^@system-service$'
    has_directive "$u: RestrictAddressFamilies" "$f" RestrictAddressFamilies '^AF_INET AF_INET6 AF_UNIX$'
done
P=$UNITS/tss-party@.service
has_directive "coordinator unit: User=tssd" "$UNITS/tss-coordinator.service" User '^tssd$'
has_directive "party unit: config per instance" "$P" ExecStart '^/usr/bin/tss-party --config /etc/tssd/party-%i.yaml$'
has_directive "party unit: state dir per instance, outside the coordinator's" "$P" StateDirectory '^tssd-party-%i$'
has_directive "party unit: one user per instance" "$P" User '^tssd-party-%i$'
has_directive "party unit: reload validates before SIGHUP" "$P" ExecReload '^/usr/bin/tss-party --config /etc/tssd/party-%i.yaml --check$'
has_directive "coordinator unit: reload validates before SIGHUP" "$UNITS/tss-coordinator.service" ExecReload '^/usr/bin/tss-coordinator --config /etc/tssd/coordinator.yaml --check$'
has_directive "party unit: encrypted passphrase credential per instance" "$P" LoadCredentialEncrypted '^tssd-party-%i:/etc/credstore.encrypted/tssd-party-%i$'
has_directive "party unit: no inbound/outbound IP by default (IPAddressDeny=any)" "$P" IPAddressDeny '^any$'
has_directive "coordinator socket: ListenStream" "$UNITS/tss-coordinator.socket" ListenStream '^7400$'
grep -q '^tss-coordinator\.socket' <(directive "$UNITS/tss-coordinator.service" Also) \
    && ok "coordinator service: enabling it enables the socket" || not_ok "coordinator service: Also=tss-coordinator.socket"

# ---- make install, systemd-analyze verify ---------------------------------------------------------

R=$WORK/root
if tss_make install DESTDIR="$R" PREFIX=/usr UNITDIR=/lib/systemd/system SYSUSERSDIR=/usr/lib/sysusers.d \
        TMPFILESDIR=/usr/lib/tmpfiles.d DOCDIR=/usr/share/doc/tssd >install.log 2>&1; then
    ok "make install DESTDIR=... PREFIX=/usr"
else
    not_ok "make install DESTDIR=... PREFIX=/usr" "$(tail -n 20 install.log)"
fi
missing=""
for f in usr/bin/tss-coordinator usr/bin/tss-party usr/bin/tssctl usr/bin/tss-keystore \
        lib/systemd/system/tss-coordinator.service lib/systemd/system/tss-coordinator.socket \
        lib/systemd/system/tss-party@.service usr/lib/sysusers.d/tssd.conf usr/lib/tmpfiles.d/tssd.conf \
        usr/share/doc/tssd/examples/party.yaml usr/share/doc/tssd/examples/coordinator.yaml \
        usr/share/doc/tssd/OPERATIONS.md usr/share/doc/tssd/help/tss-party.txt; do
    [ -e "$R/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "install: binaries, units, sysusers, tmpfiles, examples, docs, --help" \
    || not_ok "install: files" "missing:$missing"
[ "$(stat -c %a "$R/usr/bin/tss-party")" = 755 ] && [ "$(stat -c %a "$R/lib/systemd/system/tss-party@.service")" = 644 ] \
    && ok "install: modes 0755 binaries, 0644 units" || not_ok "install: modes"
tss_make install DESTDIR="$WORK/root-local" >install-local.log 2>&1
grep -q '^ExecStart=/usr/local/bin/tss-coordinator ' "$WORK/root-local/usr/local/lib/systemd/system/tss-coordinator.service" 2>/dev/null \
    && ok "install with the default PREFIX=/usr/local rewrites ExecStart" \
    || not_ok "install PREFIX=/usr/local" "$(tail -n 5 install-local.log)"

# systemd-analyze verify needs every unit the services pull in and the
# programs they run: give it the host's units and /bin/kill under the root.
mkdir -p "$R/bin" && cp /bin/kill "$R/bin/kill"
cp -an /lib/systemd/system/. "$R/lib/systemd/system/" 2>/dev/null
INSTALLED="$R/lib/systemd/system/tss-coordinator.service $R/lib/systemd/system/tss-coordinator.socket $R/lib/systemd/system/tss-party@.service"
if command -v systemd-analyze >/dev/null; then
    # shellcheck disable=SC2086
    out=$(timeout 60 systemd-analyze verify --man=no --root="$R" $INSTALLED 2>&1); rc=$?
    [ "$rc" = 0 ] && [ -z "$out" ] && ok "systemd-analyze verify: clean" \
        || not_ok "systemd-analyze verify: clean" "rc=$rc" "$out"

    # ---- systemd-analyze security ------------------------------------------------------------
    for u in tss-coordinator.service tss-party@.service; do
        out=$(timeout 60 systemd-analyze security --offline=yes --man=no "$R/lib/systemd/system/$u" 2>&1)
        score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
            ok "systemd-analyze security $u: exposure $score <= 2.0"
        else
            not_ok "systemd-analyze security $u: exposure <= 2.0" "score '$score'" \
                "$(printf '%s\n' "$out" | grep -v '✓' | tail -n 20)"
        fi
    done
else
    not_ok "systemd-analyze available" "install systemd (make deps)"
fi

# ---- PKI, keystores, configs ----------------------------------------------------------------------

tss_pki && ok "pki" || not_ok "pki" "$(cat pki.log)"
printf 'systemd passphrase\n' > pass; chmod 600 pass
printf 'not the passphrase\n' > wrong; chmod 600 wrong
tss_keystores "$WORK/pass" && ok "keystores" || not_ok "keystores" "$(cat ks.log)"

NL=$WORK/notify_listen
if gcc -std=gnu11 -O1 -Wall -Wextra -Werror -o "$NL" "$ROOT/tests/integration/notify_listen.c" 2>nl-build.log; then
    ok "build the notify_listen helper"
else
    not_ok "build the notify_listen helper" "$(cat nl-build.log)"; finish; exit 1
fi
# listen NAME: a notify socket $WORK/NAME.sock, datagrams in $WORK/NAME.notify
listen() {
    "$NL" "$WORK/$1.sock" 300 > "$WORK/$1.notify" 2>>"$WORK/nl.err" &
    PIDS+=("$!")
    wait_until 5 test -S "$WORK/$1.sock"
}
# notify lines of FILE after MARK matching REGEX (the line number of the first)
first_line() { since "$1" "$2" | grep -nE -- "$3" | head -n 1 | cut -d: -f1; }
# expect_notify NAME FILE MARK REGEX [SECONDS]
expect_notify() { expect_log "$@"; }
# expect_order NAME FILE MARK REGEX-A REGEX-B: A appears, then B after it
expect_order() {
    local a b
    wait_until 10 log_has "$2" "$3" "$5" >/dev/null
    a=$(first_line "$2" "$3" "$4"); b=$(first_line "$2" "$3" "$5")
    if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then ok "$1"; else
        not_ok "$1" "/$4/ at ${a:-none}, /$5/ at ${b:-none} in:" "$(since "$2" "$3")"; fi
}
# only_from NAME FILE PID: every datagram came from PID (NotifyAccess=main)
only_from() {
    local others
    others=$(grep -v " pid=$3 " "$2")
    if [ -s "$2" ] && [ -z "$others" ]; then ok "$1"; else not_ok "$1" "$(cat "$2")"; fi
}
prio_prefixed() { # name log: stderr to a file: every line starts with its level word, no <N>
    local bad
    bad=$(grep -Ev '^(critical|error|warning|notice|info|debug): ' "$2" | head -n 3)
    if [ -s "$2" ] && [ -z "$bad" ]; then ok "$1"; else not_ok "$1" "without a level word: $bad"; fi
}

PORT=$(free_port)
tss_coord_config coord.yaml "$PORT" "$WORK/cstate"
for i in 1 2 3; do tss_party_config "$i" "party$i.yaml" "$PORT" "$WORK/pstate$i" "{file: $WORK/pass}"; done
tss_op_config op.yaml "$PORT"

# ---- sd_notify: party before its coordinator, then the coordinator ------------------------------

# WATCHDOG_USEC without WATCHDOG_PID applies to the process it is given to;
# the daemons do not ping yet (see the watchdog check below).
WD_USEC=600000
listen p1
NOTIFY_SOCKET=$WORK/p1.sock WATCHDOG_USEC=$WD_USEC "$BUILD/tss-party" --config party1.yaml 2>>party1.log &
P1=$!; PIDS+=("$P1")
expect_notify "party: STATUS while unsealing the keystore, with EXTEND_TIMEOUT_USEC" p1.notify 0 \
    'STATUS=unsealing keystore;EXTEND_TIMEOUT_USEC=[0-9]+'
expect_log "party: keystore unsealed" party1.log 0 'keystore unsealed: party=1'
sleep 1.5
if ! grep -q 'READY=1' p1.notify; then ok "party: no READY=1 while the coordinator is down"; else
    not_ok "party: no READY=1 while the coordinator is down" "$(cat p1.notify)"; fi
alive "$P1" && ok "party keeps retrying while the coordinator is down" || not_ok "party alive while the coordinator is down"

listen c
NOTIFY_SOCKET=$WORK/c.sock WATCHDOG_USEC=$WD_USEC "$BUILD/tss-coordinator" --config coord.yaml 2>>coord.log &
COORD=$!; PIDS+=("$COORD")
expect_notify "coordinator: READY=1 with STATUS" c.notify 0 "READY=1;STATUS=serving" 10
# The daemon logs "listening on" before it notifies, so the line is there when READY is.
if grep -q 'READY=1' c.notify && grep -q "listening on 127.0.0.1:$PORT" coord.log && port_open "$PORT"; then
    ok "coordinator: READY=1 only once the listener is bound"
else
    not_ok "coordinator: READY=1 only once the listener is bound" "$(cat c.notify)" "$(tail -n 5 coord.log)"
fi
expect_notify "party: READY=1 after the first coordinator handshake" p1.notify 0 \
    'READY=1;STATUS=connected to the coordinator' 10
expect_order "party: STATUS=unsealing comes before READY=1" p1.notify 0 'STATUS=unsealing keystore' 'READY=1'
grep -q 'connected to coordinator=' party1.log && ok "party: log shows the handshake before READY" \
    || not_ok "party: handshake logged" "$(tail -n 5 party1.log)"
wait_until 10 party_connected op.yaml 1 && ok "tssctl status: party 1 connected" \
    || not_ok "tssctl status: party 1 connected" "$(status_json op.yaml; cat status.err)"

# Watchdog: systemd kills a Type=notify service that does not ping within
# WatchdogSec=, so the units may only set WatchdogSec= once the daemons ping.
sleep 1.5
wd=$(grep -c 'WATCHDOG=1' c.notify)
if [ "$wd" = 0 ]; then
    echo "# SKIP watchdog ping interval: the daemons do not send WATCHDOG=1 yet (daemon/watchdog.h is not wired in)"
    if ! grep -q '^WatchdogSec=' "$UNITS/tss-coordinator.service" "$P"; then
        ok "units leave WatchdogSec= unset while the daemons do not ping"
    else
        not_ok "units leave WatchdogSec= unset while the daemons do not ping" "$(grep -H '^WatchdogSec=' "$UNITS"/*)"
    fi
else
    # WATCHDOG_USEC=600 ms: a ping every 300 ms.
    gaps=$(grep 'WATCHDOG=1' c.notify | awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -n | tail -n 1)
    [ "${gaps:-9999}" -le 450 ] && ok "coordinator pings WATCHDOG=1 every ~300 ms (largest gap ${gaps} ms)" \
        || not_ok "coordinator watchdog interval" "largest gap ${gaps:-none} ms" "$(grep WATCHDOG c.notify)"
    gaps=$(grep 'WATCHDOG=1' p1.notify | awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -n | tail -n 1)
    [ -n "$gaps" ] && [ "$gaps" -le 450 ] && ok "party pings WATCHDOG=1 every ~300 ms (largest gap ${gaps} ms)" \
        || not_ok "party watchdog interval" "largest gap ${gaps:-none} ms" "$(grep WATCHDOG p1.notify)"
fi

# Reload.
m=$(lines c.notify)
kill -HUP "$COORD"
expect_order "coordinator: SIGHUP gives RELOADING=1, then READY=1" c.notify "$m" 'RELOADING=1' 'READY=1'
expect_log "coordinator: reload logged" coord.log 0 'reload: now serving certificate sha256='
m=$(lines p1.notify)
kill -HUP "$P1"
expect_order "party: SIGHUP gives RELOADING=1, then READY=1" p1.notify "$m" 'RELOADING=1' 'READY=1'
expect_notify "party: STATUS= says it is reloading" p1.notify "$m" 'RELOADING=1;STATUS=reloading certificates'
expect_notify "party: STATUS= after the reload" p1.notify "$m" 'READY=1;STATUS=(connected|connecting)'
cp p1/cert.pem p1cert.good
printf -- '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n' > p1/cert.pem
m=$(lines p1.notify); ml=$(lines party1.log)
kill -HUP "$P1"
expect_order "party: failed reload still RELOADING=1 then READY=1" p1.notify "$m" 'RELOADING=1' 'READY=1'
expect_log "party: failed reload logged with the kept notAfter" party1.log "$ml" \
    '^error: reload: failed, keeping certificate sha256=[0-9a-f]{64} notAfter=20[0-9-]+T[0-9:]+Z in service'
cp p1cert.good p1/cert.pem
# A failed reload still ends with READY=1 (the old certificate stays in service).
cp coord/cert.pem cert.good
printf -- '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n' > coord/cert.pem
m=$(lines c.notify); ml=$(lines coord.log)
kill -HUP "$COORD"
expect_order "coordinator: failed reload still RELOADING=1 then READY=1" c.notify "$m" 'RELOADING=1' 'READY=1'
expect_log "coordinator: failed reload logged" coord.log "$ml" 'reload: failed, keeping certificate'
cp cert.good coord/cert.pem
alive "$COORD" && ok "coordinator serves on after a failed reload" || not_ok "coordinator alive after a failed reload"

# Stop.
m=$(lines p1.notify)
stop_pid "$P1" && ok "party stops on SIGTERM" || not_ok "party stops on SIGTERM"
wait "$P1"; rc=$?
expect_notify "party: STOPPING=1 on SIGTERM" p1.notify "$m" '^[0-9]+ pid=[0-9]+ STOPPING=1$' 2
[ "$rc" = 0 ] && ok "party exit status 0 after SIGTERM" || not_ok "party exit status 0 after SIGTERM" "rc=$rc"
only_from "party: every notification from the main pid" p1.notify "$P1"
m=$(lines c.notify)
stop_pid "$COORD" && ok "coordinator stops on SIGTERM" || not_ok "coordinator stops on SIGTERM"
wait "$COORD"; rc=$?
expect_notify "coordinator: STOPPING=1 on SIGTERM" c.notify "$m" 'STOPPING=1' 2
[ "$rc" = 0 ] && ok "coordinator exit status 0 after SIGTERM" || not_ok "coordinator exit status 0" "rc=$rc"
only_from "coordinator: every notification from the main pid" c.notify "$COORD"
prio_prefixed "coordinator: every log line to a file names its level (no <N> prefix)" coord.log
prio_prefixed "party: every log line to a file names its level (no <N> prefix)" party1.log

# ---- socket activation -----------------------------------------------------------------------------

SAPORT=$(free_port); DECOY=$(free_port)
[ "$DECOY" = "$SAPORT" ] && DECOY=$(free_port)
# The config's own listen address must be ignored when a socket is passed.
tss_coord_config coord-sa.yaml "$DECOY" "$WORK/cstate-sa"
tss_op_config op-sa.yaml "$SAPORT"
listen sa
if command -v systemd-socket-activate >/dev/null; then
    systemd-socket-activate -l "127.0.0.1:$SAPORT" -E "NOTIFY_SOCKET=$WORK/sa.sock" \
        "$BUILD/tss-coordinator" --config "$WORK/coord-sa.yaml" 2>>sa.log &
    SA=$!; PIDS+=("$SA")
    wait_until 5 grep -qs "Listening on 127.0.0.1:$SAPORT" sa.log
    # The coordinator starts only when the first client connects.
    grep -q 'READY=1' sa.notify && not_ok "socket activation: nothing runs before the first connection" \
        || ok "socket activation: nothing runs before the first connection"
    for i in 1 2 3; do
        tss_party_config "$i" "party-sa$i.yaml" "$SAPORT" "$WORK/pstate-sa$i" "{file: $WORK/pass}"
        "$BUILD/tss-party" --config "party-sa$i.yaml" 2>>"party-sa$i.log" &
        eval "SAP$i=\$!"; PIDS+=("$!")
    done
    expect_log "socket activation: the coordinator uses the passed socket" sa.log 0 \
        'listening on 1 socket-activated socket\(s\)' 10
    expect_notify "socket activation: READY=1" sa.notify 0 'READY=1' 10
    if wait_until 20 connected_is op-sa.yaml 3; then ok "socket activation: 3 parties connected (tssctl status)"; else
        not_ok "socket activation: 3 parties connected" "$(status_json op-sa.yaml; cat status.err)" "$(tail -n 10 sa.log)"; fi
    port_open "$DECOY" && not_ok "socket activation: the configured listen address is not bound" \
        || ok "socket activation: the configured listen address is not bound"
    expect_exit 0 "socket activation: keygen 2-of-3" timeout 60 "$BUILD/tssctl" --config op-sa.yaml \
        keygen --key-id sa-key --threshold 2 --json
    expect_match "socket activation: keygen returns an address" "$OUT" '"address": *"0x[0-9a-fA-F]{40}"'
    expect_exit 0 "socket activation: threshold signature (tssctl verifies it)" timeout 60 \
        "$BUILD/tssctl" --config op-sa.yaml sign --key-id sa-key --message "activated" --json
    expect_match "socket activation: signature has r, s, v" "$OUT" '"r": *"[0-9a-f]{64}"'
else
    not_ok "systemd-socket-activate available" "install systemd (make deps)"
fi

# ---- single instance per state directory -------------------------------------------------------------

expect_exit 73 "second coordinator on the same state dir exits 73" \
    timeout 20 "$BUILD/tss-coordinator" --config coord-sa.yaml
expect_match "second coordinator: lock message" "$ERR" 'another instance is already running with state directory .*cstate-sa'
expect_exit 73 "second party on the same state dir exits 73" timeout 20 "$BUILD/tss-party" --config party-sa1.yaml
expect_match "second party: lock message" "$ERR" 'already running'

# ---- passphrase from $CREDENTIALS_DIRECTORY -------------------------------------------------------------

# What LoadCredentialEncrypted= gives the service: a private directory with
# one file per credential, named as the unit names it (tssd-party-%i).
mkdir -m 700 creds creds-wrong
install -m 400 pass creds/tssd-party-2 && install -m 400 wrong creds-wrong/tssd-party-2
[ -n "${SAP2:-}" ] && stop_pid "$SAP2"
tss_party_config 2 party-cred.yaml "$SAPORT" "$WORK/pstate-cred" "{credential: tssd-party-2}"
CREDENTIALS_DIRECTORY=$WORK/creds "$BUILD/tss-party" --config party-cred.yaml 2>>party-cred.log &
PC=$!; PIDS+=("$PC")
expect_log "credential: the party unseals with \$CREDENTIALS_DIRECTORY/tssd-party-2" party-cred.log 0 \
    'keystore unsealed: party=2' 10
wait_until 15 party_connected op-sa.yaml 2 && ok "credential: party 2 connected" \
    || not_ok "credential: party 2 connected" "$(tail -n 5 party-cred.log)"
stop_pid "$PC"
CREDENTIALS_DIRECTORY=$WORK/creds-wrong expect_exit 77 "credential: wrong passphrase exits 77" \
    timeout 30 "$BUILD/tss-party" --config party-cred.yaml
expect_match "credential: wrong passphrase message" "$ERR" 'error: keystore: wrong passphrase'
grep -Eq '(^| )77( |$)' <(directive "$P" RestartPreventExitStatus) \
    && ok "credential: exit 77 is not restarted by tss-party@.service" \
    || not_ok "credential: exit 77 is not restarted by tss-party@.service"
expect_exit 64 "credential: no \$CREDENTIALS_DIRECTORY exits 64" \
    env -u CREDENTIALS_DIRECTORY timeout 30 "$BUILD/tss-party" --config party-cred.yaml
expect_match "credential: the message names LoadCredential" "$ERR" 'CREDENTIALS_DIRECTORY is not set.*LoadCredential'
rm creds/tssd-party-2
CREDENTIALS_DIRECTORY=$WORK/creds expect_exit 66 "credential: missing credential file exits 66" \
    timeout 30 "$BUILD/tss-party" --config party-cred.yaml

# ---- system calls and socket families under the units' filter (strace) -----------------------------------

if command -v strace >/dev/null && command -v systemd-analyze >/dev/null; then
    SPORT=$(free_port)
    tss_coord_config coord-st.yaml "$SPORT" "$WORK/cstate-st"
    tss_party_config 3 party-st.yaml "$SPORT" "$WORK/pstate-st" "{file: $WORK/pass}"
    tss_op_config op-st.yaml "$SPORT"
    # Signals go to the traced daemons (strace's first trace line names their pid), not to strace.
    tracee() { wait_until 5 test -s "$1" && head -n 1 "$1" | cut -d' ' -f1; }
    listen st
    export NOTIFY_SOCKET=$WORK/st.sock   # sd_notify's sendmsg is traced too
    strace -f -qq -o st-coord.trace "$BUILD/tss-coordinator" --config coord-st.yaml 2>>st-coord.log &
    PIDS+=("$!"); STC=$!
    SC=$(tracee st-coord.trace); PIDS+=("${SC:-$STC}")
    strace -f -qq -o st-party.trace "$BUILD/tss-party" --config party-st.yaml 2>>st-party.log &
    PIDS+=("$!"); STP=$!
    SP=$(tracee st-party.trace); PIDS+=("${SP:-$STP}")
    wait_until 20 party_connected op-st.yaml 3 || not_ok "strace run: party connected" "$(tail -n 5 st-party.log)"
    kill -HUP "${SC:-$STC}" "${SP:-$STP}"; sleep 0.5
    stop_pid "${SP:-$STP}"; stop_pid "${SC:-$STC}"
    wait_until 5 dead "$STC"; wait_until 5 dead "$STP"
    unset NOTIFY_SOCKET
    # The allow list: @system-service minus @privileged and @resources, groups expanded.
    expand() {
        systemd-analyze syscall-filter --no-pager "$1" 2>/dev/null | sed -n 's/^    \([-@a-z0-9_]*\)$/\1/p' |
            while read -r s; do case $s in @*) expand "$s" ;; *) echo "$s" ;; esac; done
    }
    expand @system-service | sort -u > allow.txt
    { expand @privileged; expand @resources; } | sort -u > deny.txt
    comm -23 allow.txt deny.txt > allowed.txt
    cat st-coord.trace st-party.trace | sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' | sort -u > used.txt
    bad=$(comm -23 used.txt allowed.txt | tr '\n' ' ')
    echo "# system calls used: $(tr '\n' ' ' < used.txt)"
    if [ "$(wc -l < used.txt)" -gt 20 ] && [ -z "$bad" ]; then
        ok "every system call the daemons made ($(wc -l < used.txt)) is allowed by SystemCallFilter=@system-service ~@privileged @resources"
    else
        not_ok "system calls outside the units' filter" "not allowed: ${bad:-?}" "used: $(wc -l < used.txt)"
    fi
    fams=$(cat st-coord.trace st-party.trace | grep -o 'socket(AF_[A-Z0-9]*' | sed 's/socket(//' | sort -u | tr '\n' ' ')
    # AF_NETLINK: glibc's getaddrinfo(AI_ADDRCONFIG) probes interfaces and, when
    # RestrictAddressFamilies= refuses it, assumes both IPv4 and IPv6.
    other=$(printf '%s\n' $fams | grep -Ev '^(AF_INET|AF_INET6|AF_UNIX|AF_NETLINK)$' | tr '\n' ' ')
    [ -z "$other" ] && ok "socket families used: $fams(RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX)" \
        || not_ok "socket families outside RestrictAddressFamilies" "$other"
else
    echo "# SKIP system-call filter check: strace not installed"
fi

# ---- make deb --------------------------------------------------------------------------------------------

if command -v dpkg-deb >/dev/null; then
    if tss_make deb >deb.log 2>&1; then ok "make deb"; else not_ok "make deb" "$(tail -n 20 deb.log)"; fi
    DEB=$(ls "$BUILD"/tssd_*_*.deb 2>/dev/null | head -n 1)
    ver=$(sed -n 's|.*TSS_SOFTWARE "tssd/\([^"]*\)".*|\1|p' "$ROOT/daemon/process.h")
    [ -n "$DEB" ] && [ "$(basename "$DEB")" = "tssd_${ver}_$(dpkg --print-architecture).deb" ] \
        && ok "package name tssd_${ver}_$(dpkg --print-architecture).deb" || not_ok "package file" "${DEB:-none}"
    if [ -n "$DEB" ]; then
        dpkg-deb -c "$DEB" > deb.list
        missing=""
        for f in ./usr/bin/tss-coordinator ./usr/bin/tss-party ./usr/bin/tssctl ./usr/bin/tss-keystore \
                ./lib/systemd/system/tss-coordinator.service ./lib/systemd/system/tss-coordinator.socket \
                ./lib/systemd/system/tss-party@.service ./usr/lib/sysusers.d/tssd.conf \
                ./usr/lib/tmpfiles.d/tssd.conf ./usr/share/doc/tssd/OPERATIONS.md; do
            grep -q " $f$" deb.list || missing="$missing $f"
        done
        [ -z "$missing" ] && ok "dpkg-deb -c lists the units, binaries, sysusers and tmpfiles" \
            || not_ok "dpkg-deb -c contents" "missing:$missing"
        grep -q ' root/root ' deb.list && ! grep -v ' root/root ' deb.list | grep -q . \
            && ok "package files are owned by root" || not_ok "package ownership" "$(grep -v ' root/root ' deb.list | head -3)"
        deps=$(dpkg-deb -f "$DEB" Depends)
        expect_match "package Depends on the runtime libraries" "$deps" \
            'libsecp256k1-1.*libsodium23.*libwolfssl35.*libyaml-0-2.*libsystemd0'
        info=$(dpkg-deb -I "$DEB")
        for s in postinst prerm postrm; do
            expect_match "package has a $s script" "$info" " $s +#!/bin/sh"
        done
        mkdir debx && dpkg-deb -x "$DEB" debx
        grep -q '^ExecStart=/usr/bin/tss-party --config /etc/tssd/party-%i.yaml$' debx/lib/systemd/system/tss-party@.service \
            && ok "packaged units run /usr/bin binaries" || not_ok "packaged ExecStart"
    fi
else
    not_ok "dpkg-deb available"
fi

finish
