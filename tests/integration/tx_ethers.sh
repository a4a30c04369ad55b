#!/usr/bin/env bash
# Transaction differential test against ethers v6, offline (no cluster):
# tx_corpus.cjs makes random transactions of types 0-4 (legacy EIP-155,
# EIP-2930, EIP-1559, EIP-4844 without blobs, EIP-7702 with signed
# authorizations) and, with ethers, their unsignedHash, unsignedSerialized,
# a signature by a random wallet, the signed serialisation and the sender.
# `tssctl tx-hash FILE --signature RSV` (eth/tx_json + eth/tx: parse, signing
# hash, unsigned and signed encoding, decode of the signed form, sender
# recovery) must give the same four values for each. A changed field changes
# the hash (the comparison can fail). TSS_TX_CASES (default 100) and
# TSS_TX_SEED (default random, printed) reproduce a run. Without npm the
# ethers checks print a SKIP line.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

CTL=$BUILD/tssctl
if [ ! -x "$CTL" ]; then not_ok "tssctl built" "missing $CTL"; finish; exit 1; fi

NPM_DIR=$BUILD/npm
ETHERS=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP ethers checks: npm not available (node/npm not installed)"
elif [ -f "$NPM_DIR/node_modules/ethers/package.json" ]; then
    ETHERS=$NPM_DIR/node_modules/ethers
else
    mkdir -p "$NPM_DIR"
    if timeout 180 npm install --prefix "$NPM_DIR" --no-audit --no-fund --no-save ethers@6 \
        >"$WORK/npm.log" 2>&1 && [ -f "$NPM_DIR/node_modules/ethers/package.json" ]; then
        ETHERS=$NPM_DIR/node_modules/ethers
    elif ! timeout 30 npm ping >/dev/null 2>&1; then
        echo "SKIP ethers checks: npm not available (the npm registry is unreachable)"
    else
        not_ok "npm install ethers@6" "$(tail -n 15 "$WORK/npm.log")"
    fi
fi
field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | cut -d'"' -f4; }

if [ -n "$ETHERS" ]; then
    CASES=${TSS_TX_CASES:-100}
    SEED=${TSS_TX_SEED:-$(( (RANDOM << 15) | RANDOM ))}
    echo "# tx corpus: $CASES cases, seed $SEED (TSS_TX_SEED=$SEED reproduces)"
    if timeout 120 node "$ROOT/tests/integration/tx_corpus.cjs" "$ETHERS" "$WORK/tx" "$CASES" "$SEED" \
        >"$WORK/gen.log" 2>&1; then
        ok "ethers generated $CASES transactions"
    else
        not_ok "ethers generated $CASES transactions" "$(tail -n 20 "$WORK/gen.log")"
    fi
    # One tssctl run per case; one node process compares them all.
    while read -r n hash unsigned sig raw from; do
        printf '%s %s\n' "$n" "$("$CTL" tx-hash --json --signature "$sig" "$WORK/tx/tx-$n.json" 2>&1 | tr '\n' ' ')"
    done < "$WORK/tx/expected.txt" > "$WORK/ours.txt"
    if res=$(timeout 60 node -e '
const fs = require("fs");
const [exp, ours] = process.argv.slice(1).map((f) => fs.readFileSync(f, "utf8").trim().split("\n"));
const per = [0, 0, 0, 0, 0], bad = [];
exp.forEach((line, i) => {
  const [n, signingHash, unsigned, , raw, from] = line.split(" ");
  const o = ours[i].slice(ours[i].indexOf(" ") + 1);
  let got;
  try { got = JSON.parse(o); } catch (e) { bad.push(`tx-${n}.json: ${o.slice(0, 300)}`); return; }
  const diffs = Object.entries({ signingHash, unsigned, raw, from }).filter(([k, v]) => got[k] !== v).map(([k]) => k);
  if (diffs.length) bad.push(`tx-${n}.json: ${diffs.join(", ")} differ`); else per[got.type]++;
});
console.log("# equal by type: " + per.map((c, t) => `${t}:${c}`).join(" "));
if (bad.length) { console.log(bad.slice(0, 5).join("\n")); process.exit(1); }
if (per.some((c) => c === 0)) { console.log("a type has no case"); process.exit(1); }
' "$WORK/tx/expected.txt" "$WORK/ours.txt" 2>&1); then
        echo "$res"
        ok "all $CASES (types 0-4 each present): signing hash, unsigned and signed encoding, sender equal ethers'"
    else
        not_ok "all $CASES (types 0-4 each present): signing hash, unsigned and signed encoding, sender equal ethers'" "$res"
        cp -r "$WORK/tx" "${TMPDIR:-/tmp}/tx-failed-$SEED" 2>/dev/null && echo "# kept in ${TMPDIR:-/tmp}/tx-failed-$SEED"
    fi
    # What a party signs (issue 16): the request content made of ethers'
    # unsignedSerialized, decoded canonically by the party's code path
    # (policy/request.c via `tssctl policy check --request`), hashes to
    # ethers' unsignedHash for every case.
    printf 'version: 1\nrules:\n  - {name: all, keys: ["*"], types: [raw, eip191, tx, eip712]}\n' > "$WORK/all.yaml"
    same=0 bad=()
    while read -r n hash unsigned _; do
        u=${unsigned#0x}
        printf '0102%08x%s' $((${#u} / 2)) "$u" | xxd -r -p > "$WORK/req"
        got=$(field "$("$CTL" policy check "$WORK/all.yaml" --key-id k --request "$WORK/req" --json 2>&1)" digest)
        if [ "$got" = "$hash" ]; then same=$((same + 1)); else bad+=("tx-$n: party digest '${got}' ethers $hash"); fi
    done < "$WORK/tx/expected.txt"
    if [ "$same" = "$CASES" ]; then ok "all $CASES: the digest a party computes from ethers' unsigned transaction equals ethers' unsignedHash"
    else not_ok "party digest equals ethers' unsignedHash ($same of $CASES)" "${bad[@]:0:5}"; fi
    # The comparison can fail: a changed nonce gives another signing hash.
    read -r n hash _ < "$WORK/tx/expected.txt"
    sed -E 's/"nonce":("?)[0-9a-fx]+("?)/"nonce":12345/' "$WORK/tx/tx-$n.json" > "$WORK/mut.json"
    got=$(field "$("$CTL" tx-hash --json "$WORK/mut.json" 2>&1)" signingHash)
    if [ -n "$got" ] && [ "$got" != "$hash" ]; then ok "a changed nonce changes the signing hash"; else
        not_ok "a changed nonce changes the signing hash" "$got"; fi
fi

# Offline refusals (no npm needed), each naming the key.
printf '{"type":3,"chainId":1,"nonce":0,"gasLimit":21000,"maxFeePerGas":1,"maxPriorityFeePerGas":1,"to":"0x000000000000000000000000000000000000dEaD","maxFeePerBlobGas":1,"blobVersionedHashes":[]}' > "$WORK/b.json"
expect_exit 65 "type 3 without blob hashes refused" "$CTL" tx-hash "$WORK/b.json"
expect_match "the key is named" "$ERR" 'blobVersionedHashes.*at least one blob versioned hash'
printf '{"type":4,"chainId":1,"nonce":0,"gasLimit":21000,"maxFeePerGas":1,"maxPriorityFeePerGas":1,"authorizationList":[{"chainId":1,"address":"0x000000000000000000000000000000000000dEaD","nonce":0,"yParity":0,"r":"0x1","s":"0x1"}]}' > "$WORK/c.json"
expect_exit 65 "type 4 contract creation refused" "$CTL" tx-hash "$WORK/c.json"
expect_match "the missing recipient is named" "$ERR" 'to: required in a type 4 transaction'
printf '{"type":2,"chainId":1,"nonce":0,"gasLimit":21000,"maxFeePerGas":1,"maxPriorityFeePerGas":1,"authorizationList":[]}' > "$WORK/d.json"
expect_exit 65 "an authorization list on type 2 refused" "$CTL" tx-hash "$WORK/d.json"
expect_exit 64 "tx-hash: a short --signature is a usage error" "$CTL" tx-hash "$WORK/d.json" --signature 0x00
finish
