#!/usr/bin/env bash
# The daemons under a live systemd (issue 12): Debian 12 booted with
# `systemd-nspawn --boot` (private network: loopback only), the .deb from
# `make deb` installed with apt, a coordinator and three parties provisioned
# exactly as docs/OPERATIONS.md says (PKI with tssctl, keystores with
# tss-keystore, passphrases with `systemd-creds encrypt` +
# LoadCredentialEncrypted=), started with systemctl. Checks: READY=1 for every
# unit, keygen and full and presigned signing through the sandboxed services,
# `systemctl reload` with a good and a bad certificate (the bad one fails the
# reload and leaves the old set in service), the watchdog restarting a
# SIGSTOPped daemon, socket activation, the BPF firewall (IPAddressDeny=),
# live `systemd-analyze security` <= 2.0, role and instance isolation (the
# coordinator's sandbox cannot reach party state; party 2 cannot read party
# 1's files), and `apt-get remove` keeping key material.
#
# The Debian base tree is built once with debootstrap from the host's apt
# sources and cached in $TSSD_NSPAWN_CACHE (default /var/cache/tssd-test);
# each run boots a copy. Needs root. Skipped (loudly) only where nspawn
# cannot run at all.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
CACHE=${TSSD_NSPAWN_CACHE:-/var/cache/tssd-test}
BASE_PKGS=systemd,systemd-sysv,dbus,procps
MACHINE=tssd-live-$$
NSPAWN_PID=""

skip_loudly() {
    echo "SKIP: systemd_live: $*" >&2
    echo "################################################################" >&2
    echo "# live-systemd test NOT RUN: $*" >&2
    echo "################################################################" >&2
    ok "live systemd test skipped: $*"
    finish
    exit 0
}

cleanup() {
    if [ -n "$NSPAWN_PID" ]; then
        kill -TERM "$NSPAWN_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NSPAWN_PID" 2>/dev/null
        wait "$NSPAWN_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || skip_loudly "needs root (systemd-nspawn, debootstrap)"
command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null \
    || skip_loudly "systemd-nspawn or debootstrap missing (make deps installs systemd-container and debootstrap)"
for b in tss-coordinator tss-party tssctl tss-keystore; do
    [ -x "$BUILD/$b" ] || { not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; }
done

# ---- the package, then the base tree (cached, with the package's dependencies) -----------------

MAKE_BUILD=$BUILD
case "$BUILD" in "$ROOT"/*) MAKE_BUILD=${BUILD#"$ROOT"/} ;; esac
if timeout 300 make --no-print-directory -C "$ROOT" BUILD="$MAKE_BUILD" \
        -o "$MAKE_BUILD/tss-coordinator" -o "$MAKE_BUILD/tss-party" -o "$MAKE_BUILD/tssctl" \
        -o "$MAKE_BUILD/tss-keystore" deb >"$WORK/deb.log" 2>&1; then
    ok "make deb"
else
    not_ok "make deb" "$(tail -n 20 "$WORK/deb.log")"; finish; exit 1
fi
DEB=$(ls "$BUILD"/tssd_*.deb | head -n 1)
# The container has no network: its base tree carries everything the .deb depends on.
DEB_DEPS=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd, -)
BASE_PKGS=$BASE_PKGS,$DEB_DEPS
BASE=$CACHE/bookworm-$(printf '%s' "$BASE_PKGS" | sha256sum | cut -c1-12)

if [ ! -x "$BASE/usr/lib/systemd/systemd" ]; then
    mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || skip_loudly "no Debian mirror in the host's apt sources for debootstrap"
    mkdir -p "$CACHE" && rm -rf "$BASE.tmp"
    echo "building the cached Debian 12 base tree in $BASE (debootstrap, a few minutes, once)"
    if ! timeout 900 debootstrap --variant=minbase --include="$BASE_PKGS" bookworm "$BASE.tmp" "$mirror" \
            >"$WORK/debootstrap.log" 2>&1; then
        not_ok "debootstrap the base tree" "$(tail -n 20 "$WORK/debootstrap.log")"
        rm -rf "$BASE.tmp"; finish; exit 1
    fi
    rm -rf "$BASE.tmp/var/cache/apt/archives/"*.deb
    mv "$BASE.tmp" "$BASE"
    # Trees for other dependency sets are stale now.
    for old in "$CACHE"/bookworm-*; do [ "$old" = "$BASE" ] || rm -rf "$old"; done
fi
ok "Debian 12 base tree ($BASE)"

R=$WORK/rootfs
cp -a "$BASE" "$R" && chmod 755 "$R"
cp "$DEB" "$R/root/tssd.deb"
echo "$MACHINE" > "$R/etc/hostname"

# ---- boot ------------------------------------------------------------------------------------------

systemd-nspawn -D "$R" --register=no --keep-unit --private-network --link-journal=no \
    --system-call-filter=bpf --boot --machine="$MACHINE" </dev/null >"$WORK/boot.log" 2>&1 &
NSPAWN_PID=$!
LEADER=""
for _ in $(seq 1 100); do
    LEADER=$(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null | head -n 1 | tr -d ' ')
    [ -n "$LEADER" ] && [ "$(readlink "/proc/$LEADER/exe" 2>/dev/null)" = /usr/lib/systemd/systemd ] && break
    LEADER=""
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$LEADER" ] || skip_loudly "systemd-nspawn --boot did not start systemd: $(tail -n 5 "$WORK/boot.log" | tr '\n' ' ')"

# in CMD...: run in the container (all its namespaces), stdin closed unless given.
cin() { nsenter -t "$LEADER" -a -- "$@"; }
insh() { nsenter -t "$LEADER" -a -- /bin/sh -c "$1"; }
booted() {
    state=$(timeout 10 nsenter -t "$LEADER" -a -- systemctl is-system-running 2>&1)
    case "$state" in running | degraded) return 0 ;; *) return 1 ;; esac
}
wait_until 60 booted
case "$state" in
    running | degraded) ok "container booted (systemd: $state)" ;;
    *) not_ok "container booted" "is-system-running: $state" "$(tail -n 20 "$WORK/boot.log")"; finish; exit 1 ;;
esac

# ---- install ----------------------------------------------------------------------------------------

if insh 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/tssd.deb' \
        >"$WORK/apt.log" 2>&1 </dev/null; then
    ok "apt-get install tssd.deb inside the container"
else
    not_ok "apt-get install tssd.deb" "$(tail -n 20 "$WORK/apt.log")"; finish; exit 1
fi
insh 'id tssd && test "$(stat -c %a:%U /var/lib/tssd)" = 700:tssd && test "$(stat -c %a /etc/tssd)" = 750' \
    >/dev/null 2>&1 </dev/null && ok "postinst: user tssd, /var/lib/tssd 0700, /etc/tssd 0750" \
    || not_ok "postinst: user and directories" "$(insh 'ls -ld /var/lib/tssd /etc/tssd; id tssd' 2>&1 </dev/null)"

# ---- provision as docs/OPERATIONS.md says ------------------------------------------------------------

cat > "$R/root/provision.sh" <<'EOF'
set -eu
cd /root
# PKI (on a separate CA machine in production).
tssctl pki init-ca --out ca --days 400 >/dev/null
tssctl pki issue --ca ca --identity urn:tssd:coordinator --out coord --ip 127.0.0.1 --dns localhost --days 400 >/dev/null
tssctl pki issue --ca ca --identity urn:tssd:coordinator --out coord2 --ip 127.0.0.1 --dns localhost --days 400 >/dev/null
for i in 1 2 3; do tssctl pki issue --ca ca --identity urn:tssd:party:$i --out p$i --days 400 >/dev/null; done
tssctl pki issue --ca ca --identity urn:tssd:operator:alice --out op --days 400 >/dev/null
install -o root -g tssd -m 640 ca/ca.pem /etc/tssd/tls/ca.crt
# Coordinator (OPERATIONS "Provisioning the coordinator").
install -o root -g tssd -m 640 coord/cert.pem /etc/tssd/tls/coordinator.crt
install -o tssd -g tssd -m 600 coord/key.pem /etc/tssd/tls/coordinator.key
# Parties (OPERATIONS "Provisioning a party from scratch"): user, credential,
# keystore, certificate.
for i in 1 2 3; do
    systemd-sysusers --inline "u tssd-party-$i -:tssd \"tssd party $i\" /var/lib/tssd-party-$i /usr/sbin/nologin"
    install -m 600 /dev/null pass-$i && head -c 24 /dev/urandom | base64 > pass-$i
    systemd-creds encrypt --name=tssd-party-$i pass-$i /etc/credstore.encrypted/tssd-party-$i
    install -d -o tssd-party-$i -g tssd -m 700 /var/lib/tssd-party-$i
    runuser -u tssd-party-$i -- tss-keystore init --dir /var/lib/tssd-party-$i/keystore \
        --party-id $i --kdf interactive --passphrase-fd 3 3<pass-$i > id-$i
    install -o root -g tssd -m 640 p$i/cert.pem /etc/tssd/tls/party-$i.crt
    install -o tssd-party-$i -g tssd -m 600 p$i/key.pem /etc/tssd/tls/party-$i.key
done
cat > /etc/tssd/coordinator.yaml <<EOC
listen: [127.0.0.1:7400]
tls: {cert: /etc/tssd/tls/coordinator.crt, key: /etc/tssd/tls/coordinator.key, ca: /etc/tssd/tls/ca.crt}
parties:
  - {id: 1, identity: "urn:tssd:party:1"}
  - {id: 2, identity: "urn:tssd:party:2"}
  - {id: 3, identity: "urn:tssd:party:3"}
operators:
  - {name: alice, identity: "urn:tssd:operator:alice"}
state_dir: /var/lib/tssd
timeouts: {heartbeat: 1s, handshake: 5s, idle: 10s}
EOC
chown root:tssd /etc/tssd/coordinator.yaml && chmod 640 /etc/tssd/coordinator.yaml
for i in 1 2 3; do
    {
        echo "party_id: $i"
        echo "keystore: {dir: /var/lib/tssd-party-$i/keystore, passphrase: {credential: tssd-party-$i}}"
        echo "coordinator: {address: [127.0.0.1:7400]}"
        echo "tls: {cert: /etc/tssd/tls/party-$i.crt, key: /etc/tssd/tls/party-$i.key, ca: /etc/tssd/tls/ca.crt}"
        echo "peers:"
        for j in 1 2 3; do [ $j = $i ] || echo "  - {id: $j, identity: \"$(cat id-$j)\"}"; done
        echo "timeouts: {heartbeat: 1s, connect: 3s, backoff_initial: 200ms, backoff_max: 1s}"
        echo "state_dir: /var/lib/tssd-party-$i"
    } > /etc/tssd/party-$i.yaml
    chown root:tssd /etc/tssd/party-$i.yaml && chmod 640 /etc/tssd/party-$i.yaml
done
install -d -m 700 /root/op
printf 'coordinator: {address: [127.0.0.1:7400]}\ntls: {cert: /root/op/cert.pem, key: /root/op/key.pem, ca: /etc/tssd/tls/ca.crt}\ntimeouts: {connect: 5s, request: 60s}\n' > /root/op.yaml
tss-coordinator --config /etc/tssd/coordinator.yaml --check
for i in 1 2 3; do runuser -u tssd-party-$i -- tss-party --config /etc/tssd/party-$i.yaml --check; done
EOF
if insh 'sh /root/provision.sh' >"$WORK/provision.log" 2>&1 </dev/null; then
    ok "provisioned: PKI, per-party users, encrypted credentials, keystores, configs (--check passes)"
else
    not_ok "provision" "$(tail -n 30 "$WORK/provision.log")"; finish; exit 1
fi

# ---- start ------------------------------------------------------------------------------------------

cin systemctl enable --now tss-coordinator.socket tss-coordinator.service >"$WORK/start.log" 2>&1 </dev/null
for i in 1 2 3; do cin systemctl start --no-block "tss-party@$i.service" >>"$WORK/start.log" 2>&1 </dev/null; done
all_active() {
    local u
    for u in tss-coordinator.service tss-party@1.service tss-party@2.service tss-party@3.service; do
        [ "$(cin systemctl is-active "$u" 2>/dev/null </dev/null)" = active ] || return 1
    done
}
if wait_until 60 all_active; then
    ok "coordinator and three parties active (READY=1 through Type=notify)"
else
    not_ok "all units active" "$(cin systemctl --no-pager status 'tss-*' 2>&1 </dev/null | tail -n 40)"
    finish; exit 1
fi
st=$(cin systemctl show -p StatusText tss-party@2.service 2>/dev/null </dev/null)
expect_match "party STATUS= line shown by systemctl" "$st" 'StatusText=.*connected'

ctl() { cin tssctl --config /root/op.yaml "$@" </dev/null; }
parties_connected() { [ "$(ctl status --json 2>/dev/null | grep -o '"connected":true' | wc -l)" = 3 ]; }
wait_until 20 parties_connected && ok "tssctl status: three parties connected" \
    || not_ok "tssctl status" "$(ctl status 2>&1)"

# ---- keygen, full and presigned signing -----------------------------------------------------------------

out=$(ctl keygen --key-id live --threshold 2 --json 2>&1)
expect_match "keygen through the sandboxed services" "$out" '"address": ?"0x[0-9a-fA-F]{40}"'
DIGEST=$(printf 'live systemd' | sha256sum | cut -c1-64)
out=$(ctl sign --key-id live --digest "$DIGEST" --no-presign --json 2>&1)
expect_match "full signature (2-of-3)" "$out" '"r": ?"(0x)?[0-9a-f]{64}"'
out=$(ctl presign --key-id live --count 2 --json 2>&1)
expect_match "presign 2" "$out" '"presigned": ?2'
out=$(ctl sign --key-id live --digest "$DIGEST" --json 2>&1)
expect_match "signature from a presignature" "$out" '"presigned": ?true'
insh 'test -n "$(ls /var/lib/tssd-party-1/keys/)"' </dev/null && ok "party 1 holds its sealed share in its own state directory" \
    || not_ok "share in /var/lib/tssd-party-1/keys" "$(insh 'ls -laR /var/lib/tssd-party-1' 2>&1 </dev/null | head -n 20)"

# ---- journald: structured fields, no syslog prefixes ------------------------------------------------------

out=$(cin journalctl --no-pager -o cat TSSD_KEY_ID=live 2>&1 </dev/null)
expect_match "journalctl TSSD_KEY_ID=live finds the key's log lines (structured fields)" "$out" 'live'
n_parties=$(cin journalctl --no-pager -o json TSSD_KEY_ID=live 2>/dev/null </dev/null | grep -o '"_SYSTEMD_UNIT":"tss-party@[0-9]' | sort -u | wc -l)
[ "$n_parties" -ge 2 ] && ok "structured key lines come from the parties too ($n_parties units)" \
    || not_ok "structured key lines from the parties" "units: $n_parties"
out=$(cin journalctl --no-pager -o cat -u tss-coordinator -u 'tss-party@*' 2>&1 </dev/null)
if printf '%s\n' "$out" | grep -Eq '^<[0-9]>'; then not_ok "no <N> prefixes in the journal" "$(printf '%s\n' "$out" | grep -E '^<[0-9]>' | head -n 3)"
else ok "no <N> prefixes in the journal (PRIORITY= is a field)"; fi
out=$(cin journalctl --no-pager -o cat -p err -u tss-coordinator -u 'tss-party@*' 2>&1 </dev/null)
[ -z "$out" ] || [ "$out" = "-- No entries --" ] && ok "no error-priority entries during normal operation" \
    || not_ok "no error-priority entries during normal operation" "$out"

# ---- isolation: roles and instances ---------------------------------------------------------------------

# Probes with the coordinator's sandbox and user, and with party 2's user.
probe_coord() {
    cin systemd-run --wait --pipe --quiet -p User=tssd -p Group=tssd -p ProtectSystem=strict \
        -p PrivateUsers=yes -p ProtectHome=yes -p StateDirectory=tssd -- /bin/sh -c "$1" </dev/null 2>&1
}
probe_party2() {
    cin systemd-run --wait --pipe --quiet -p User=tssd-party-2 -p Group=tssd -p ProtectSystem=strict \
        -p PrivateUsers=yes -- /bin/sh -c "$1" </dev/null 2>&1
}
# probe_expect allowed|denied NAME PROBE SHELL-COMMAND: the command prints PROBE-OK when it succeeds.
probe_expect() {
    local want=$1 name=$2 out
    out=$("$3" "$4 && echo PROBE-OK")
    case $want:$(printf '%s' "$out" | grep -c PROBE-OK) in
        allowed:1 | denied:0) ok "$name" ;;
        *) not_ok "$name" "$out" ;;
    esac
}
# Controls first: each probe really runs and reaches its own files.
probe_expect allowed "probe as the coordinator reads its own state" probe_coord 'ls /var/lib/tssd/keys >/dev/null'
probe_expect allowed "probe as party 2 reads its own keystore" probe_party2 'cat /var/lib/tssd-party-2/keystore/mnemonic.sealed >/dev/null'
probe_expect denied "coordinator sandbox cannot list party 1's state" probe_coord 'ls /var/lib/tssd-party-1/keystore'
probe_expect denied "coordinator sandbox cannot write into party 1's state" probe_coord 'touch /var/lib/tssd-party-1/x'
probe_expect denied "coordinator sandbox cannot read party 1's TLS key" probe_coord 'cat /etc/tssd/tls/party-1.key >/dev/null'
probe_expect denied "party 2 cannot read party 1's keystore" probe_party2 'cat /var/lib/tssd-party-1/keystore/mnemonic.sealed >/dev/null'
probe_expect denied "party 2 cannot read party 1's TLS key" probe_party2 'cat /etc/tssd/tls/party-1.key >/dev/null'
probe_expect denied "party 2 cannot read the coordinator's state" probe_party2 'cat /var/lib/tssd/keys/*.json >/dev/null'

# ---- reload: good and bad certificate ------------------------------------------------------------------------

fp() { cin tssctl pki show --cert "$1" </dev/null 2>/dev/null | grep -io '[0-9a-f]\{64\}' | head -n 1; }
jmark=$(cin journalctl -u tss-coordinator --no-pager -o cat 2>/dev/null </dev/null | wc -l)
insh 'install -o root -g tssd -m 640 /root/coord2/cert.pem /etc/tssd/tls/coordinator.crt &&
      install -o tssd -g tssd -m 600 /root/coord2/key.pem /etc/tssd/tls/coordinator.key' </dev/null
if cin systemctl reload tss-coordinator >"$WORK/reload.log" 2>&1 </dev/null; then
    ok "systemctl reload with a new valid certificate succeeds"
else
    not_ok "systemctl reload (good)" "$(cat "$WORK/reload.log")"
fi
new_fp=$(fp /root/coord2/cert.pem)
jl() { cin journalctl -u tss-coordinator --no-pager -o cat 2>/dev/null </dev/null | tail -n +"$((jmark + 1))"; }
wait_until 10 sh -c "true" >/dev/null
if [ -n "$new_fp" ] && wait_until 10 eval 'jl | grep -q "$new_fp"'; then ok "coordinator serves the new certificate (fingerprint in the journal)"
else not_ok "new certificate in service" "fp=$new_fp" "$(jl | tail -n 10)"; fi
# Bad: a key that does not match the certificate.
insh 'install -o tssd -g tssd -m 600 /root/p1/key.pem /etc/tssd/tls/coordinator.key' </dev/null
if cin systemctl reload tss-coordinator >"$WORK/reload-bad.log" 2>&1 </dev/null; then
    not_ok "systemctl reload with a mismatched key fails visibly" "exit 0"
else
    ok "systemctl reload with a mismatched key fails visibly (exit non-zero)"
fi
[ "$(cin systemctl is-active tss-coordinator 2>/dev/null </dev/null)" = active ] \
    && ok "coordinator still active after the failed reload" || not_ok "coordinator active after bad reload"
out=$(ctl status 2>&1)
expect_match "old (good) set still in service: operators are served" "$out" '1 +connected'
insh 'install -o tssd -g tssd -m 600 /root/coord2/key.pem /etc/tssd/tls/coordinator.key' </dev/null

# ---- watchdog -------------------------------------------------------------------------------------------------

mkdir -p "$R/etc/systemd/system/tss-party@3.service.d"
printf '[Service]\nWatchdogSec=2s\n' > "$R/etc/systemd/system/tss-party@3.service.d/watchdog.conf"
cin systemctl daemon-reload </dev/null
cin systemctl restart tss-party@3 </dev/null
wait_until 30 all_active
pid_before=$(cin systemctl show -p MainPID --value tss-party@3 </dev/null)
restarts_before=$(cin systemctl show -p NRestarts --value tss-party@3 </dev/null)
insh "kill -STOP $pid_before" </dev/null
restarted() {
    local p n
    p=$(cin systemctl show -p MainPID --value tss-party@3 </dev/null)
    n=$(cin systemctl show -p NRestarts --value tss-party@3 </dev/null)
    [ "$n" -gt "$restarts_before" ] && [ "$p" != "$pid_before" ] && [ "$p" != 0 ]
}
if wait_until 30 restarted; then ok "watchdog: SIGSTOPped party killed and restarted by systemd"
else not_ok "watchdog restart" "$(cin systemctl status tss-party@3 --no-pager 2>&1 </dev/null | tail -n 15)"; fi
cin journalctl -u tss-party@3 --no-pager -o cat </dev/null 2>/dev/null | grep -qi watchdog \
    && ok "journal names the watchdog timeout" || not_ok "journal names the watchdog timeout"
wait_until 30 all_active && ok "party 3 active again after the watchdog restart" || not_ok "party 3 active again"

# ---- socket activation ----------------------------------------------------------------------------------------

cin systemctl stop tss-coordinator.service </dev/null
[ "$(cin systemctl is-active tss-coordinator.socket </dev/null)" = active ] \
    && ok "socket unit keeps listening while the service is stopped" || not_ok "socket active"
out=$(ctl status 2>&1)
if [ "$(cin systemctl is-active tss-coordinator.service </dev/null)" = active ]; then
    ok "a connection to the socket starts the coordinator (socket activation)"
else
    not_ok "socket activation" "$out" "$(cin systemctl status tss-coordinator --no-pager 2>&1 </dev/null | tail -n 10)"
fi
cin journalctl -u tss-coordinator --no-pager -o cat </dev/null 2>/dev/null | grep -qi 'socket' \
    && ok "coordinator logs that it uses the inherited socket" || not_ok "coordinator logs socket activation"
wait_until 30 parties_connected && ok "parties back after the socket-activated start" || not_ok "parties reconnect"
out=$(ctl sign --key-id live --digest "$DIGEST" --no-presign --json 2>&1)
expect_match "signing after socket activation" "$out" '"r": ?"(0x)?[0-9a-f]{64}"'

# ---- BPF firewall (IPAddressDeny=any, IPAddressAllow=localhost in tss-party@.service) -----------------------

# Allow only another loopback address: the coordinator at 127.0.0.1 becomes unreachable.
mkdir -p "$R/etc/systemd/system/tss-party@2.service.d"
printf '[Service]\nIPAddressAllow=\nIPAddressAllow=127.0.0.2\n' > "$R/etc/systemd/system/tss-party@2.service.d/fw.conf"
cin systemctl daemon-reload </dev/null
jm=$(cin journalctl -u tss-party@2 --no-pager -o cat 2>/dev/null </dev/null | wc -l)
cin systemctl restart --no-block tss-party@2 </dev/null
fw_logged() { cin journalctl -u tss-party@2 --no-pager -o cat </dev/null 2>/dev/null | tail -n +"$((jm + 1))" | grep -Eq 'TCP connect timed out|Operation not permitted'; }
if wait_until 20 fw_logged; then ok "IPAddressDeny= enforced: party 2 cannot reach the coordinator (connect to 127.0.0.1 dropped)"
else not_ok "BPF firewall enforced" "$(cin journalctl -u tss-party@2 --no-pager -o cat </dev/null 2>&1 | tail -n 10)"; fi
rm -f "$R/etc/systemd/system/tss-party@2.service.d/fw.conf"
cin systemctl daemon-reload </dev/null
cin systemctl restart --no-block tss-party@2 </dev/null
wait_until 30 all_active && ok "party 2 connects again once allowed" || not_ok "party 2 back"
# A clean stop is not a warning.
since=$(cin date +%s </dev/null)
sleep 1
cin systemctl restart tss-party@1 </dev/null
wait_until 30 all_active
out=$(cin journalctl --no-pager -o cat -p warning -u tss-party@1 --since "@$since" 2>&1 </dev/null)
[ -z "$out" ] || [ "$out" = "-- No entries --" ] && ok "a clean stop and start of party 1 logs no warning" \
    || not_ok "a clean stop logs no warning" "$out"

# ---- systemd-analyze security (live) ---------------------------------------------------------------------------

for u in tss-coordinator.service tss-party@1.service; do
    out=$(cin systemd-analyze security --no-pager "$u" </dev/null 2>&1)
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        ok "live systemd-analyze security $u: $score <= 2.0"
    else
        not_ok "live systemd-analyze security $u <= 2.0" "score '$score'" "$(printf '%s\n' "$out" | tail -n 5)"
    fi
done

# ---- apt-get remove keeps key material -------------------------------------------------------------------------

if insh 'DEBIAN_FRONTEND=noninteractive apt-get remove -y -q tssd' >"$WORK/remove.log" 2>&1 </dev/null; then
    ok "apt-get remove tssd"
else
    not_ok "apt-get remove tssd" "$(tail -n 10 "$WORK/remove.log")"
fi
insh '! test -e /usr/bin/tss-party && ! systemctl is-active -q tss-coordinator.service' </dev/null \
    && ok "remove: programs gone, services stopped" || not_ok "remove: programs gone, services stopped"
insh 'for i in 1 2 3; do test -s /var/lib/tssd-party-$i/keystore/mnemonic.sealed || exit 1;
      ls /var/lib/tssd-party-$i/keys/* >/dev/null || exit 1; done;
      ls /var/lib/tssd/keys/*.json >/dev/null && test -s /etc/tssd/tls/party-1.key &&
      test -s /etc/credstore.encrypted/tssd-party-1' </dev/null \
    && ok "remove keeps keystores, shares, the key registry, TLS keys and credentials" \
    || not_ok "remove keeps key material" "$(insh 'ls -R /var/lib /etc/tssd' 2>&1 </dev/null | head -n 30)"

finish
