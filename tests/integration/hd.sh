#!/usr/bin/env bash
# BIP-32 (non-hardened) addresses of a threshold key: a 2-of-3 cluster on
# 127.0.0.1 runs a keygen; `tssctl keys --xpub` exports the key's extended
# public key and `tssctl address` derives child addresses, from the registry
# (--key-id) and offline from the xpub (--xpub), identically. ethers v6
# (npm, into $BUILD/npm) checks HDNodeWallet.fromExtendedKey(xpub)
# .derivePath(p).address for 1,000 random non-hardened paths. Also: hardened
# steps and indices >= 2^31 refused with exit 65, the chain code survives a
# coordinator restart, and a registry file without one (written before tssd
# kept it) still loads, with a clear error for its xpub. Signing under a path
# (every 2-of-3 signer set, random paths): the coordinator and tssctl verify
# under the child key, ethers recovers the child address, the audit log has
# the path; sign-tx under a path is sent from the child address; a
# presignature made for one path serves that path only. Without npm the
# ethers checks print a SKIP line; every other check still runs.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

for b in tss-coordinator tss-party tssctl tss-keystore; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

# ---- ethers from npm (bounded; a private directory under $BUILD) ------------------------------
NPM_DIR=$BUILD/npm
ETHERS=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP ethers checks: npm not available (node/npm not installed)"
    ok "ethers checks skipped: npm not available"
elif [ -f "$NPM_DIR/node_modules/ethers/package.json" ]; then
    ETHERS=$NPM_DIR/node_modules/ethers
    ok "ethers already installed in $NPM_DIR"
else
    mkdir -p "$NPM_DIR"
    if timeout 180 npm install --prefix "$NPM_DIR" --no-audit --no-fund --no-save ethers@6 \
        >"$WORK/npm.log" 2>&1 && [ -f "$NPM_DIR/node_modules/ethers/package.json" ]; then
        ETHERS=$NPM_DIR/node_modules/ethers
        ok "npm install ethers@6"
    elif ! timeout 30 npm ping >/dev/null 2>&1; then
        echo "SKIP ethers checks: npm not available (the npm registry is unreachable)"
        ok "ethers checks skipped: npm registry unreachable"
    else
        not_ok "npm install ethers@6" "$(tail -n 15 "$WORK/npm.log")"
    fi
fi

# ---- cluster and key ------------------------------------------------------------------------------
cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
if cluster_start; then ok "2-of-3: all parties connected"; else
    not_ok "2-of-3: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
expect_exit 0 "keygen 2-of-3" "$CTL" --config op.yaml keygen --key-id hd --threshold 2 --json
ADDR=$(json_field "$OUT" address)
XPUB_KG=$(json_field "$OUT" xpub)
expect_match "keygen prints the key's xpub" "$XPUB_KG" '^xpub[1-9A-HJ-NP-Za-km-z]{107}$'
expect_exit 0 "keys --xpub" "$CTL" --config op.yaml keys --key-id hd --xpub
XPUB=$OUT
expect_match "keys --xpub prints one xpub" "$XPUB" '^xpub[1-9A-HJ-NP-Za-km-z]{107}$'
[ "$XPUB" = "$XPUB_KG" ] && ok "keygen and keys agree on the xpub" \
    || not_ok "keygen and keys agree on the xpub" "$XPUB_KG vs $XPUB"
expect_exit 0 "keys --xpub --testnet" "$CTL" --config op.yaml keys --key-id hd --xpub --testnet
TPUB=$OUT
expect_match "--testnet prints a tpub" "$TPUB" '^tpub[1-9A-HJ-NP-Za-km-z]{107}$'
expect_exit 0 "keys --json" "$CTL" --config op.yaml keys --json
expect_match "keys --json has the xpub" "$OUT" "\"xpub\":\"$XPUB\""
expect_exit 0 "keys text" "$CTL" --config op.yaml keys
expect_match "keys text shows the xpub" "$OUT" "xpub: +$XPUB"
expect_exit 0 "keys --xpub (all keys)" "$CTL" --config op.yaml keys --xpub
expect_match "keys --xpub lists key id and xpub" "$OUT" "^hd $XPUB\$"

# The root path is the key itself.
expect_exit 0 "address m" "$CTL" --config op.yaml address --key-id hd --path m
expect_match "address m is the key's address" "$OUT" "^m $ADDR 0[23][0-9a-f]{64}\$"
expect_exit 0 "address m/0/7/42 --json" "$CTL" --config op.yaml address --key-id hd --path m/0/7/42 --path m/1 --json
expect_match "address --json lists path, address, child key" "$OUT" \
    "^\\{\"keyId\":\"hd\",\"xpub\":\"$XPUB\",\"addresses\":\\[\\{\"path\":\"m/0/7/42\",\"address\":\"0x[0-9a-fA-F]{40}\",\"publicKey\":\"0[23][0-9a-f]{64}\"\\},\\{\"path\":\"m/1\","

# Refusals: hardened steps and indices >= 2^31 (no party holds a private key to derive them).
for p in "m/0'" "m/0h" "m/1/2H" "m/2147483648" "m/4294967295"; do
    expect_exit 65 "address refuses $p" "$CTL" --config op.yaml address --key-id hd --path "$p"
    expect_match "refusal of $p explains why" "$ERR" 'hardened derivation needs the parent private key'
done
expect_exit 65 "address refuses a malformed path" "$CTL" --config op.yaml address --key-id hd --path "m/01"
expect_exit 64 "address needs a path" "$CTL" --config op.yaml address --key-id hd
expect_exit 64 "address needs a key or an xpub, not both" "$CTL" --config op.yaml address --key-id hd --xpub "$XPUB" --path m/1
# Change the last Base58 character (to one it is not: a fixed '1' would leave ~1 in 58 xpubs intact).
last=${XPUB: -1}; [ "$last" = 1 ] && swap=2 || swap=1
expect_exit 65 "address refuses a corrupted xpub" "$CTL" address --xpub "${XPUB%?}$swap" --path m/1
expect_match "corrupted xpub: checksum named" "$ERR" 'checksum|Base58'
expect_exit 76 "address with an unknown key" "$CTL" --config op.yaml address --key-id nokey --path m/1
expect_match "unknown key named" "$ERR" 'no key nokey'

# 1,000 random non-hardened paths (depth 1..12, some deep to 255), by key id and offline by xpub.
awk -v seed=$RANDOM 'BEGIN { srand(seed);
    for (i = 0; i < 1000; i++) {
        d = (i < 5) ? 200 + i * 11 : 1 + int(rand() * 12); if (d > 255) d = 255;
        p = "m"; for (j = 0; j < d; j++) {
            r = rand(); v = (r < 0.3) ? int(rand() * 100) : int(rand() * 2147483648);
            if (i == 7 && j == 0) v = 2147483647;
            p = p "/" v }
        print p } }' > paths.txt
expect_exit 0 "address --paths (1,000 paths via the registry)" "$CTL" --config op.yaml address --key-id hd --paths paths.txt
printf '%s\n' "$OUT" > ours.txt
expect_exit 0 "address --xpub --paths - (offline)" sh -c "\"$CTL\" address --xpub $XPUB --paths - < paths.txt"
printf '%s\n' "$OUT" > offline.txt
[ "$(wc -l < ours.txt)" = 1000 ] && cmp -s ours.txt offline.txt \
    && ok "registry and offline xpub derivation agree on 1,000 paths" \
    || not_ok "registry and offline xpub derivation agree on 1,000 paths" "$(diff ours.txt offline.txt | head)"
expect_exit 0 "address --xpub with the tpub" sh -c "\"$CTL\" address --xpub $TPUB --paths - < paths.txt"
[ "$OUT" = "$(cat ours.txt)" ] && ok "the tpub derives the same addresses" || not_ok "the tpub derives the same addresses"

if [ -n "$ETHERS" ]; then
    cat > hd.cjs <<'EOF'
// node hd.cjs ETHERS_DIR XPUB OURS: every line "path address pubkey" of OURS
// equals ethers' HDNodeWallet.fromExtendedKey(XPUB).derivePath(path).
const [ethersDir, xpub, file] = process.argv.slice(2);
const { ethers } = require(ethersDir);
const root = ethers.HDNodeWallet.fromExtendedKey(xpub);
const lines = require("fs").readFileSync(file, "utf8").trim().split("\n");
let bad = 0;
for (const l of lines) {
  const [path, addr, pub] = l.split(" ");
  const n = root.derivePath(path);
  if (n.address !== addr || n.publicKey !== "0x" + pub) {
    if (bad++ < 5) console.log(`${path}: ethers ${n.address} ${n.publicKey}, tssd ${addr} ${pub}`);
  }
}
if (bad) { console.log(`${bad} of ${lines.length} differ`); process.exit(1); }
if (root.address === undefined) process.exit(1);
console.log(`ok ${lines.length}`);
EOF
    if res=$(timeout 120 node hd.cjs "$ETHERS" "$XPUB" ours.txt 2>&1) && [ "$res" = "ok 1000" ]; then
        ok "ethers derives the same address and child key for 1,000 random paths"
    else
        not_ok "ethers derives the same address and child key for 1,000 random paths" "$res"
    fi
    res=$(timeout 30 node -e 'const {ethers}=require(process.argv[1]); console.log(ethers.HDNodeWallet.fromExtendedKey(process.argv[2]).address)' "$ETHERS" "$XPUB" 2>&1)
    [ "$res" = "$ADDR" ] && ok "ethers: the xpub's own address is the key's address" \
        || not_ok "ethers: the xpub's own address is the key's address" "$res vs $ADDR"
fi

# ---- signing under a path -----------------------------------------------------------------------
D=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
for signers in 1,2 1,3 2,3; do
    P="m/$((RANDOM % 100))/$((RANDOM * 65536 + RANDOM))/$((RANDOM % 7))"
    expect_exit 0 "sign under $P by $signers" "$CTL" --config op.yaml sign --key-id hd --digest "$D" --path "$P" --signers "$signers" --no-presign --json
    SIG=$OUT
    CHILD=$("$CTL" --config op.yaml address --key-id hd --path "$P" | cut -d' ' -f2)
    expect_match "signature under $P is for the child address" "$SIG" "\"path\":\"$P\",\"publicKey\":\"04[0-9a-f]{128}\",\"address\":\"$CHILD\""
    expect_match "signed by $signers, verified" "$SIG" "\"signers\":\[$signers\].*\"verified\":true"
    [ "$CHILD" != "$ADDR" ] && ok "the child address differs from the key's" || not_ok "the child address differs from the key's"
    if [ -n "$ETHERS" ]; then
        res=$(timeout 30 node -e '
const {ethers}=require(process.argv[1]); const o=JSON.parse(process.argv[2]);
console.log(ethers.recoverAddress("0x"+o.digest, {r:"0x"+o.r, s:"0x"+o.s, v:27+o.v}));' "$ETHERS" "$SIG" 2>&1)
        [ "$res" = "$CHILD" ] && ok "ethers recovers the child address from the signature under $P" \
            || not_ok "ethers recovers the child address from the signature under $P" "$res vs $CHILD"
    fi
done
expect_exit 65 "sign refuses a hardened path" "$CTL" --config op.yaml sign --key-id hd --digest "$D" --path "m/1'"
expect_match "hardened refusal explains why" "$ERR" 'hardened derivation needs the parent private key'
expect_exit 65 "sign refuses an index >= 2^31" "$CTL" --config op.yaml sign --key-id hd --digest "$D" --path m/2147483648
AUDIT=$(cat cstate/audit/*.log 2>/dev/null)
expect_match "the audit log records the path of a signature" "$AUDIT" '"request":"sign","key":"hd",.*"presigned":0,"path":"m/[0-9]+/[0-9]+/[0-9]"'

# sign-tx under a path: the sender is the child address.
printf '%s\n' '{"type": 2, "chainId": 1, "nonce": 0, "maxPriorityFeePerGas": "1", "maxFeePerGas": "2",' \
    ' "gasLimit": 21000, "to": "0x000000000000000000000000000000000000dEaD", "value": "1"}' > tx.json
CHILD5=$("$CTL" --config op.yaml address --key-id hd --path m/5 | cut -d' ' -f2)
expect_exit 0 "sign-tx --path m/5" "$CTL" --config op.yaml sign-tx --key-id hd --tx tx.json --path m/5 --json
expect_match "sign-tx under m/5 is sent from the child address" "$OUT" "\"path\":\"m/5\".*\"from\":\"$CHILD5\""
if [ -n "$ETHERS" ]; then
    RAW=$(json_field "$OUT" raw)
    res=$(timeout 30 node -e 'const {ethers}=require(process.argv[1]); console.log(ethers.Transaction.from(process.argv[2]).from)' "$ETHERS" "$RAW" 2>&1)
    [ "$res" = "$CHILD5" ] && ok "ethers: the transaction's sender is the child address" \
        || not_ok "ethers: the transaction's sender is the child address" "$res vs $CHILD5"
fi

# Presignatures: a pool per path. One made for m/9 serves m/9 only.
expect_exit 0 "presign --path m/9" "$CTL" --config op.yaml presign --key-id hd --count 1 --path m/9 --json
expect_match "presign reports the path" "$OUT" '"path":"m/9","presigned":1'
grep -Eq ' m/9 [0-9a-f]{32}$' cstate/presig/hd.log && ok "the presignature record keeps the path" \
    || not_ok "the presignature record keeps the path" "$(cat cstate/presig/hd.log)"
expect_exit 0 "sign without a path" "$CTL" --config op.yaml sign --key-id hd --digest "$D" --json
expect_match "m/9's presignature does not serve the key itself" "$OUT" '"presigned":false'
expect_exit 0 "sign under m/10" "$CTL" --config op.yaml sign --key-id hd --digest "$D" --path m/10 --json
expect_match "m/9's presignature does not serve m/10" "$OUT" '"presigned":false'
CHILD9=$("$CTL" --config op.yaml address --key-id hd --path m/9 | cut -d' ' -f2)
expect_exit 0 "sign under m/9" "$CTL" --config op.yaml sign --key-id hd --digest "$D" --path m/9 --json
expect_match "m/9 signs with its presignature, for the child address" "$OUT" "\"address\":\"$CHILD9\",\"presigned\":true,\"verified\":true"

# ---- the chain code in the registry -------------------------------------------------------------
grep -q '"chainCode": "[0-9a-f]\{64\}"' cstate/keys/hd.json && ok "registry file records the chain code" \
    || not_ok "registry file records the chain code" "$(cat cstate/keys/hd.json)"
stop_pid "$COORD"
start_coord
wait_until 20 connected_is 3 || true
expect_exit 0 "keys --xpub after a coordinator restart" "$CTL" --config op.yaml keys --key-id hd --xpub
[ "$OUT" = "$XPUB" ] && ok "the xpub survives a restart" || not_ok "the xpub survives a restart" "$OUT"
# A key file from before the chain code was kept: still loads, no xpub, a clear error.
stop_pid "$COORD"
# Written as format 1 (no format, epoch, chainCode, checksum lines): what an older
# coordinator left; it is checked and migrated at start.
sed -e '/"format"/d' -e '/"epoch"/d' -e '/"chainCode"/d' -e '/"checksum"/d' \
    -e 's/^\(  "session": "[0-9a-f]*"\),$/\1/' -e 's/"keyId": "hd"/"keyId": "old"/' \
    cstate/keys/hd.json > cstate/keys/old.json
start_coord
wait_until 20 connected_is 3 || true
expect_exit 0 "an old registry file without chainCode loads" "$CTL" --config op.yaml keys --key-id old --json
expect_match "old key listed without an xpub" "$OUT" '"keyId":"old"'
if printf '%s' "$OUT" | grep -q xpub; then not_ok "old key has no xpub" "$OUT"; else ok "old key has no xpub"; fi
expect_exit 66 "keys --xpub for a key without a chain code" "$CTL" --config op.yaml keys --key-id old --xpub
expect_match "the missing chain code is explained" "$ERR" 'no chain code'
expect_exit 66 "address for a key without a chain code" "$CTL" --config op.yaml address --key-id old --path m/1
expect_exit 76 "signing under a path needs the chain code" "$CTL" --config op.yaml sign --key-id old --digest "$D" --path m/1
expect_match "the coordinator names the missing chain code" "$ERR" 'no chain code'
finish
