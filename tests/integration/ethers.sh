#!/usr/bin/env bash
# `tssctl sign-tx` against a real Ethereum library: a 2-of-3 cluster on
# 127.0.0.1 signs one EIP-1559 and one legacy EIP-155 transaction from JSON
# files, and ethers v6 (installed from npm into $BUILD/npm) parses each raw
# transaction, recovers tx.from = the key's address, and finds every field
# equal to the JSON file's. Also: bad, missing and oversized files fail
# before any request is sent. Without npm (or with no registry reachable) the
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
expect_exit 0 "keygen 2-of-3" "$CTL" --config op.yaml keygen --key-id eth --threshold 2 --json
ADDR=$(json_field "$OUT" address)
expect_match "keygen prints an EIP-55 address" "$ADDR" '^0x[0-9a-fA-F]{40}$'

cat > tx1559.json <<'EOF'
{
  "type": 2,
  "chainId": 11155111,
  "nonce": 7,
  "maxPriorityFeePerGas": "1500000000",
  "maxFeePerGas": "0x6fc23ac00",
  "gasLimit": 60000,
  "to": "0x000000000000000000000000000000000000dEaD",
  "value": "1000000000000000000",
  "data": "0xa9059cbb0000000000000000000000000000000000000000000000000000000000000001",
  "accessList": [
    {"address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
     "storageKeys": ["0x0000000000000000000000000000000000000000000000000000000000000001",
                     "0x00000000000000000000000000000000000000000000000000000000000000ff"]}
  ]
}
EOF
cat > tx155.json <<'EOF'
{"type": 0, "chainId": 1, "nonce": 0, "gasPrice": "20000000000", "gasLimit": 21000,
 "to": "0x3535353535353535353535353535353535353535", "value": "0xde0b6b3a7640000"}
EOF

expect_exit 0 "sign-tx EIP-1559" "$CTL" --config op.yaml sign-tx --key-id eth --tx tx1559.json --json
RAW1=$(json_field "$OUT" raw); OUT1=$OUT
expect_match "sign-tx EIP-1559: raw type-2 transaction" "$RAW1" '^0x02[0-9a-f]+$'
expect_match "sign-tx EIP-1559: sender is the key's address" "$OUT" "\"from\":\"$ADDR\""
expect_match "sign-tx EIP-1559: hash, r, s, yParity" "$OUT" \
    '"hash":"0x[0-9a-f]{64}","r":"0x[0-9a-f]{64}","s":"0x[0-9a-f]{64}","v":[01],"yParity":[01]'
expect_exit 0 "sign-tx legacy EIP-155 (signers 2,3)" "$CTL" --config op.yaml sign-tx --key-id eth --tx tx155.json --signers 2,3 --json
RAW2=$(json_field "$OUT" raw); OUT2=$OUT
expect_match "sign-tx legacy: RLP list" "$RAW2" '^0xf8[0-9a-f]+$'
expect_match "sign-tx legacy: v = chainId*2+35+yParity, signers 2,3" "$OUT" '"v":3[78],.*"signers":\[2,3\]'
out=$("$CTL" --config op.yaml sign-tx --key-id eth --tx - --json < tx1559.json 2>&1)
expect_match "sign-tx --tx - reads the transaction from stdin" "$out" "\"from\":\"$ADDR\""
expect_exit 0 "sign-tx text output" "$CTL" --config op.yaml sign-tx --key-id eth --tx tx155.json
expect_match "text output names the sender and the raw transaction" "$OUT" "from: +$ADDR"
expect_match "text output has the raw transaction" "$OUT" '^raw: +0xf8'

# Refusals before anything is sent.
printf '{"type": 2, "chainId": 1, "nonce": 1, "gasprice": "1"}' > bad.json
expect_exit 65 "sign-tx refuses an unknown key" "$CTL" --config op.yaml sign-tx --key-id eth --tx bad.json
expect_match "the bad key is named" "$ERR" 'gasprice'
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' > big.json
expect_exit 65 "sign-tx refuses a file over 1 MiB" "$CTL" --config op.yaml sign-tx --key-id eth --tx big.json
expect_match "oversized file reported as too large" "$ERR" 'too large'
expect_exit 66 "sign-tx: missing file" "$CTL" --config op.yaml sign-tx --key-id eth --tx nope.json
expect_exit 64 "sign-tx needs --tx" "$CTL" --config op.yaml sign-tx --key-id eth
expect_exit 64 "sign-tx takes no --digest" "$CTL" --config op.yaml sign-tx --key-id eth --tx tx155.json --digest 00
expect_exit 76 "sign-tx with an unknown key" "$CTL" --config op.yaml sign-tx --key-id nokey --tx tx155.json
expect_match "unknown key is named" "$ERR" 'no key nokey'

# ---- ethers ------------------------------------------------------------------------------------
if [ -n "$ETHERS" ]; then
    cat > check.cjs <<'EOF'
// node check.cjs ETHERS_DIR TX.json RAW FROM TSSCTL_JSON: ethers parses RAW,
// recovers FROM, and every field equals the file's.
const [ethersDir, file, raw, from, outJson] = process.argv.slice(2);
const { ethers } = require(ethersDir);
const want = JSON.parse(require("fs").readFileSync(file, "utf8"));
const out = JSON.parse(outJson);
const tx = ethers.Transaction.from(raw);
const bad = [];
const eq = (name, a, b) => { if (String(a) !== String(b)) bad.push(`${name}: ethers ${a} != ${b}`); };
const big = (v) => BigInt(v === undefined ? 0 : v);
eq("from", tx.from, from);
eq("type", tx.type, want.type);
eq("chainId", tx.chainId, big(want.chainId));
eq("nonce", tx.nonce, Number(want.nonce));
eq("gasLimit", tx.gasLimit, big(want.gasLimit));
eq("to", tx.to, want.to ? ethers.getAddress(want.to) : null);
eq("value", tx.value, big(want.value));
eq("data", tx.data, (want.data || "0x").toLowerCase());
if (want.type === 2) {
  eq("maxPriorityFeePerGas", tx.maxPriorityFeePerGas, big(want.maxPriorityFeePerGas));
  eq("maxFeePerGas", tx.maxFeePerGas, big(want.maxFeePerGas));
  const al = (want.accessList || []).map((e) => ({ address: ethers.getAddress(e.address),
    storageKeys: e.storageKeys.map((k) => k.toLowerCase()) }));
  eq("accessList", JSON.stringify(tx.accessList), JSON.stringify(al));
} else {
  eq("gasPrice", tx.gasPrice, big(want.gasPrice));
  eq("legacy v (EIP-155)", tx.signature.networkV, BigInt(out.v));
}
eq("hash", tx.hash, out.hash);
eq("unsignedHash", tx.unsignedHash, out.signingHash);
eq("r", tx.signature.r, out.r);
eq("s", tx.signature.s, out.s);
eq("yParity", tx.signature.yParity, out.yParity);
eq("recovered address", ethers.recoverAddress(tx.unsignedHash, tx.signature), from);
if (bad.length) { console.log(bad.join("\n")); process.exit(1); }
console.log("ok", tx.type, tx.from);
EOF
    for t in 1559:tx1559.json:RAW1:OUT1 155:tx155.json:RAW2:OUT2; do
        IFS=: read -r name file rawv outv <<<"$t"
        if res=$(timeout 30 node check.cjs "$ETHERS" "$WORK/$file" "${!rawv}" "$ADDR" "${!outv}" 2>&1); then
            ok "ethers accepts the EIP-$name transaction as sent from the key's address"
        else
            not_ok "ethers accepts the EIP-$name transaction as sent from the key's address" "$res"
        fi
    done
    # A tampered raw transaction recovers another sender in ethers.
    T=$(printf '%s' "$RAW2" | sed 's/3535353535/3535353536/')
    res=$(timeout 30 node -e 'const {ethers}=require(process.argv[1]); const t=ethers.Transaction.from(process.argv[2]); console.log(t.from)' "$ETHERS" "$T" 2>&1)
    [ -n "$res" ] && [ "$res" != "$ADDR" ] && ok "a tampered transaction does not recover the key's address" \
        || not_ok "a tampered transaction does not recover the key's address" "$res"
fi
finish
