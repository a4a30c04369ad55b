#!/usr/bin/env bash
# EIP-712 differential test against ethers v6: eip712_corpus.cjs generates
# random type graphs (nested structs, arrays of arrays, every elementary kind,
# dynamic types, random domain subsets) with ethers' TypedDataEncoder.hash as
# the expected digest; `tssctl typed-data-hash` (eth/eip712.c, offline) must
# give the same digest for each. Also: a flipped byte in a document changes
# our digest (the comparison can fail). TSS_EIP712_CASES (default 80) and
# TSS_EIP712_SEED (default random, printed) reproduce a run. Without npm the
# checks print a SKIP line.
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

digest_of() { "$CTL" typed-data-hash --json "$1" 2>&1 | grep -o '"digest":"0x[0-9a-f]*"' | cut -d'"' -f4; }

if [ -n "$ETHERS" ]; then
    CASES=${TSS_EIP712_CASES:-80}
    SEED=${TSS_EIP712_SEED:-$(( (RANDOM << 15) | RANDOM ))}
    echo "# eip712 corpus: $CASES cases, seed $SEED (TSS_EIP712_SEED=$SEED reproduces)"
    if timeout 120 node "$ROOT/tests/integration/eip712_corpus.cjs" "$ETHERS" "$WORK/td" "$CASES" "$SEED" \
        >"$WORK/gen.log" 2>&1; then
        ok "ethers generated $CASES typed-data documents"
    else
        not_ok "ethers generated $CASES typed-data documents" "$(tail -n 20 "$WORK/gen.log")"
    fi
    same=0 bad=()
    while read -r n want; do
        got=$(digest_of "$WORK/td/td-$n.json")
        if [ "$got" = "$want" ]; then same=$((same + 1)); else
            bad+=("td-$n.json: tssctl ${got:-$("$CTL" typed-data-hash "$WORK/td/td-$n.json" 2>&1 | tail -1)} ethers $want")
        fi
    done < "$WORK/td/expected.txt"
    # What a party signs (issue 16): the request content of each document,
    # evaluated through the party's code path (`tssctl policy check`).
    printf 'version: 1\nrules:\n  - {name: all, keys: ["*"], types: [eip712]}\n' > "$WORK/all.yaml"
    # A signing request carries typed data up to 256 KiB (policy/request.h,
    # OPERATIONS.md); a larger generated document must be refused as such.
    psame=0 pbad=()
    while read -r n want; do
        out=$("$CTL" policy check "$WORK/all.yaml" --key-id k --typed-data "$WORK/td/td-$n.json" --json 2>&1)
        if [ "$(stat -c %s "$WORK/td/td-$n.json")" -gt 262144 ]; then
            case $out in *"file too large (limit 262144 bytes)"*) psame=$((psame + 1)) ;;
                *) pbad+=("td-$n.json (over 256 KiB, not refused): ${out:0:200}") ;; esac
            continue
        fi
        got=$(printf '%s' "$out" | grep -o '"digest":"0x[0-9a-f]*"' | cut -d'"' -f4)
        if [ "$got" = "$want" ]; then psame=$((psame + 1)); else pbad+=("td-$n.json: ${out:0:200}"); fi
    done < "$WORK/td/expected.txt"
    if [ "$psame" = "$CASES" ]; then ok "all $CASES: the digest a party computes from the request content equals ethers'"
    else not_ok "party digest equals ethers' ($psame of $CASES)" "${pbad[@]:0:5}"; fi
    if [ "$same" = "$CASES" ]; then ok "all $CASES digests equal ethers' TypedDataEncoder.hash"; else
        not_ok "all $CASES digests equal ethers' TypedDataEncoder.hash ($same equal)" "${bad[@]:0:5}"
        cp -r "$WORK/td" "${TMPDIR:-/tmp}/eip712-failed-$SEED" 2>/dev/null && echo "# kept in ${TMPDIR:-/tmp}/eip712-failed-$SEED"
    fi
    # The comparison can fail: change one message value, the digest changes.
    # (Prefixing a string value with Z: the first document where that still
    # type-checks, i.e. the value is a string, not bytes or a number.)
    a="" b=""
    for f in $(grep -l '"message":{"[^"]*":"' "$WORK"/td/td-*.json); do
        sed 's/"message":{"\([^"]*\)":"/"message":{"\1":"Z/' "$f" > "$WORK/mut.json"
        b=$(digest_of "$WORK/mut.json")
        if [ -n "$b" ]; then a=$(digest_of "$f"); break; fi
    done
    if [ -z "$b" ]; then # no such document in this corpus: a fixed one
        printf '{"types":{"T":[{"name":"s","type":"string"}]},"primaryType":"T","domain":{},"message":{"s":"a"}}' > "$WORK/fixed.json"
        sed 's/"s":"a"/"s":"Za"/' "$WORK/fixed.json" > "$WORK/mut.json"
        a=$(digest_of "$WORK/fixed.json") b=$(digest_of "$WORK/mut.json")
    fi
    if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then ok "a changed message value changes the digest"; else
        not_ok "a changed message value changes the digest" "$a vs $b"; fi
fi

# Offline refusals (no npm needed): each names the problem, exit 65.
printf '{"types":{"T":[{"name":"x","type":"Nope"}]},"primaryType":"T","domain":{},"message":{}}' > "$WORK/bad1.json"
expect_exit 65 "typed-data-hash: unknown type refused" "$CTL" typed-data-hash "$WORK/bad1.json"
expect_match "the unknown type and its field are named" "$ERR" 'type T, field x: unknown type "Nope"'
printf '{"types":{"T":[{"name":"x","type":"uint8"}]},"primaryType":"T","domain":{},"message":{"x":256}}' > "$WORK/bad2.json"
expect_exit 65 "typed-data-hash: out-of-range uint8 refused" "$CTL" typed-data-hash "$WORK/bad2.json"
expect_match "the value's path, type and field are named" "$ERR" 'message.x: value out of range for uint8 \[type T, field uint8 x\]'
expect_exit 66 "typed-data-hash: missing file" "$CTL" typed-data-hash "$WORK/nope.json"
expect_exit 64 "typed-data-hash needs FILE" "$CTL" typed-data-hash
finish
