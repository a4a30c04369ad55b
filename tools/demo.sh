#!/usr/bin/env bash
# `make demo`: runs what tssd has today, end to end, with real files.
#
# Built so far: the sealed party keystore (BIP-39 mnemonic under Argon2id +
# XChaCha20-Poly1305) and its provisioning tool. Not built yet: the threshold
# core (DKG, DKLS23 signing), the coordinator and party daemons over mTLS, and
# tss-demo; until they land this script provisions and checks keystores for N
# parties and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
KS=build/tss-keystore
N=${MPC_TOTAL_PARTIES:-3}
SESSION=${MPC_SESSION_ID:-demo_$(date -u +%Y%m%dT%H%M%SZ)}
STATE=${MPC_TSS_STATE_DIR:-./state}
DIR=$STATE/$SESSION
step() { printf '\n==> %s\n' "$*"; }
ms() { date +%s%3N; }

echo "tssd demo (session $SESSION, $N parties)"
echo "This build has the sealed party keystore only; daemons, key generation and"
echo "threshold signing arrive with later work. Nothing below is simulated."

mkdir -p "$DIR"; chmod 700 "$DIR"
step "Generating a DEMO-ONLY passphrase in $DIR/demo-passphrase (mode 0600)"
umask 077
head -c 24 /dev/urandom | base64 > "$DIR/demo-passphrase"
echo "    (a real deployment uses systemd LoadCredentialEncrypted=, see docs/OPERATIONS.md)"

for i in $(seq 1 "$N"); do
    step "Provisioning party $i: $KS init --dir $DIR/party_$i --party-id $i --kdf interactive"
    t0=$(ms)
    id=$($KS init --dir "$DIR/party_$i" --party-id "$i" --kdf interactive --passphrase-file "$DIR/demo-passphrase")
    echo "    identity $id  ($(( $(ms) - t0 )) ms)"
done

step "Public header of party 1 (no passphrase needed): $KS inspect"
$KS inspect --dir "$DIR/party_1" | sed 's/^/    /'

for i in $(seq 1 "$N"); do
    t0=$(ms)
    out=$($KS verify --dir "$DIR/party_$i" --passphrase-file "$DIR/demo-passphrase")
    echo "    party $i: $out ($(( $(ms) - t0 )) ms)"
done

step "A wrong passphrase is refused with exit 77"
printf 'not the passphrase\n' > "$DIR/wrong-passphrase"
set +e
$KS verify --dir "$DIR/party_1" --passphrase-file "$DIR/wrong-passphrase" 2>&1 | sed 's/^/    /'
rc=${PIPESTATUS[0]}
set -e
rm -f "$DIR/wrong-passphrase"
[ "$rc" = 77 ] || { echo "unexpected exit $rc"; exit 1; }
echo "    exit $rc"

step "Done. Keystores are in $DIR (delete it when finished)."
