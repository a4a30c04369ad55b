#!/usr/bin/env bash
# tss-gateway end to end: a real 2-of-3 cluster on 127.0.0.1, the gateway on
# HTTPS (client certificates) and loopback plain HTTP (bearer tokens), and
# ethers v6 and viem from npm as clients: eth_accounts, signMessage,
# signTransaction (types 0 and 2, parsed back, from = the key's address).
# REST: publicKeys, eth1 sign (signature recovers the key), 404/400.
# Refusals, each with its precise error and nothing signed, while the
# gateway keeps serving: no certificate or token, a wrong token, an
# unconfigured client certificate, a key or method not granted, malformed
# JSON, duplicate keys, batch over the cap, unknown address, oversized body,
# too many headers, slowloris headers. The gateway's audit chain verifies.
# Without node/npm (or no registry) the library checks print SKIP.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/integration/cluster.sh"
trap cluster_cleanup EXIT

for b in tss-coordinator tss-party tssctl tss-keystore tss-gateway; do
    if [ ! -x "$BUILD/$b" ]; then not_ok "binary $b built" "missing $BUILD/$b"; finish; exit 1; fi
done
if ! command -v curl >/dev/null 2>&1; then
    not_ok "curl available" "install curl (make deps)"; finish; exit 1
fi

# ---- ethers and viem from npm (bounded; a private directory under $BUILD) ----------------------
NPM_DIR=$BUILD/npm
HAVE_LIBS=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP ethers/viem checks: npm not available (node/npm not installed)"
elif [ -f "$NPM_DIR/node_modules/ethers/package.json" ] && [ -f "$NPM_DIR/node_modules/viem/package.json" ] \
    && [ -f "$NPM_DIR/node_modules/ganache/package.json" ]; then
    HAVE_LIBS=1
else
    mkdir -p "$NPM_DIR"
    if timeout 400 npm install --prefix "$NPM_DIR" --no-audit --no-fund --no-save ethers@6 viem@2 ganache@7 \
        >"$WORK/npm.log" 2>&1 && [ -f "$NPM_DIR/node_modules/viem/package.json" ]; then
        HAVE_LIBS=1; ok "npm install ethers@6 viem@2 ganache@7"
    elif ! timeout 30 npm ping >/dev/null 2>&1; then
        echo "SKIP ethers/viem checks: the npm registry is unreachable"
    else
        not_ok "npm install ethers@6 viem@2" "$(tail -n 15 "$WORK/npm.log")"
    fi
fi

# ---- cluster, keys, certificates ---------------------------------------------------------------
cluster_setup 3 3s || { not_ok "cluster setup" "$(cat "$WORK"/*.log)"; finish; exit 1; }
sed -i 's/^operators:/operators:\n  - {name: gateway, identity: "urn:tssd:operator:gateway"}/' coord.yaml
echo "rate_limit: {operator_rate: 0}" >> coord.yaml
issue() { "$CTL" pki issue --ca ca --days 30 "$@" >/dev/null 2>>pki.log; }
issue --identity urn:tssd:operator:gateway --out gwop
issue --identity urn:tssd:client:wallet --out cwallet
issue --identity urn:tssd:client:stranger --out cstranger
# The HTTPS certificate: any server certificate; this one comes from the same CA.
issue --identity urn:tssd:operator:web --out web --ip 127.0.0.1 --dns localhost
if cluster_start; then ok "2-of-3: all parties connected"; else
    not_ok "2-of-3: all parties connected" "$(tail -n 20 coord.log)"; finish; exit 1; fi
json_field() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
expect_exit 0 "keygen eth" "$CTL" --config op.yaml keygen --key-id eth --threshold 2 --json
ADDR=$(json_field "$OUT" address)
expect_exit 0 "keygen cold (not granted to the clients)" "$CTL" --config op.yaml keygen --key-id cold --threshold 2 --json
COLD=$(json_field "$OUT" address)

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN2=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN3=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
th() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
GP=$(free_port); PP=$(free_port)
cat > gw.yaml <<EOG
listen: [127.0.0.1:$GP]
plain_listen: [127.0.0.1:$PP]
tls: {cert: $WORK/web/cert.pem, key: $WORK/web/key.pem, ca: $WORK/ca/ca.pem}
coordinator:
  address: [127.0.0.1:$PORT]
  tls: {cert: $WORK/gwop/cert.pem, key: $WORK/gwop/key.pem, ca: $WORK/ca/ca.pem}
chain_id: 31337
clients:
  - {name: wallet, token_sha256: [$(th "$TOKEN")], keys: [eth], methods: ["*"]}
  - {name: reader, certificate: false, token_sha256: [$(th "$TOKEN2")], keys: ["*"], methods: [eth_accounts]}
  - {name: hd, certificate: false, token_sha256: [$(th "$TOKEN3")], keys: [eth], methods: ["*"], paths: [m/0/7, m/1/2147483647]}
limits: {max_body: 64KiB, max_batch: 4, max_headers: 16, max_header_size: 4KiB, max_connections_per_client: 3}
timeouts: {request: 2s, idle: 10s, sign: 30s}
audit_dir: $WORK/gwaudit
log_level: info
EOG
expect_exit 0 "tss-gateway --check" "$BUILD/tss-gateway" --config gw.yaml --check
printf 'listen: [127.0.0.1:1]\nplain_listen: [10.0.0.1:1]\n' > bad.yaml
sed -n '3,$p' gw.yaml >> bad.yaml
expect_exit 78 "plain HTTP on a non-loopback address is refused" "$BUILD/tss-gateway" --config bad.yaml --check
expect_match "  ... naming the key" "$ERR" "plain_listen.*loopback"
"$BUILD/tss-gateway" --config gw.yaml 2>>gw.log &
GW=$!; PIDS+=("$GW")
H="http://127.0.0.1:$PP"; S="https://127.0.0.1:$GP"
rpc() { # rpc URL BODY [curl args...]: the response body in $OUT, status in $CODE
    local url=$1 body=$2; shift 2
    OUT=$(curl -s -m 20 -w '\n%{http_code}' -H 'Content-Type: application/json' -d "$body" "$@" "$url" 2>&1)
    CODE=$(printf '%s' "$OUT" | tail -n 1); OUT=$(printf '%s' "$OUT" | sed '$d')
}
accounts_ok() { rpc "$H/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' -H "Authorization: Bearer $TOKEN"; [ "$OUT" = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[\"$ADDR\"]}" ]; }
if wait_until 20 accounts_ok; then ok "gateway up: eth_accounts over plain loopback HTTP with a token"; else
    not_ok "gateway up" "$OUT" "$(tail -n 20 gw.log)"; finish; exit 1; fi
signed_count() { cat gwaudit/*.log 2>/dev/null | grep -c '"session"'; }

# ---- ethers (client certificate) and viem (token) ---------------------------------------------
if [ -n "$HAVE_LIBS" ]; then
    # Typed data and transaction types 1/3/4 once eth/ has them (eip712 work).
    TYPED=0; [ -f "$ROOT/eth/eip712.h" ] && TYPED=1
    TXTYPES=0; grep -q TSS_ETH_TX_EIP7702 "$ROOT/eth/tx.h" && TXTYPES=1
    [ "$TYPED" = 1 ] || echo "SKIP EIP-712 checks: eth/eip712.h not in this tree (eth_signTypedData_v4 answers -32601)"
    TYPED=$TYPED TXTYPES=$TXTYPES NPM_DIR=$NPM_DIR GW_URL=$S/ ADDR=$ADDR CHAIN_ID=31337 TOKEN=$TOKEN CA=$WORK/ca/ca.pem \
        CLIENT_CERT=$WORK/cwallet/cert.pem CLIENT_KEY=$WORK/cwallet/key.pem \
        NODE_EXTRA_CA_CERTS=$WORK/ca/ca.pem timeout 120 node "$ROOT/tests/integration/gateway_clients.mjs" \
        > clients.out 2>&1
    rc=$?
    while IFS= read -r line; do
        case "$line" in
            "ok "*) ok "${line#ok }" ;;
            "not ok "*) not_ok "${line#not ok }" ;;
        esac
    done < clients.out
    [ "$rc" = 0 ] || not_ok "ethers/viem client script" "exit $rc" "$(tail -n 20 clients.out)"
else
    ok "ethers/viem checks skipped: npm not available"
fi

# ---- REST (Web3Signer eth1) -------------------------------------------------------------------
OUT=$(curl -s -m 10 -H "Authorization: Bearer $TOKEN" "$H/api/v1/eth1/publicKeys")
expect_match "REST publicKeys: the granted key only" "$OUT" '^\["0x[0-9a-f]{128}"\]$'
PUB=$(printf '%s' "$OUT" | cut -d'"' -f2)
OUT=$(curl -s -m 20 -H "Authorization: Bearer $TOKEN" -d '{"data":"0xdeadbeef"}' "$H/api/v1/eth1/sign/$PUB")
expect_match "REST eth1 sign by public key: 65-byte signature" "$OUT" '^0x[0-9a-f]{128}(1b|1c)$'
if [ -n "$HAVE_LIBS" ]; then
    REC=$(cd "$NPM_DIR" && node -e "const e=require('ethers');console.log(e.recoverAddress(e.keccak256('0xdeadbeef'),'$OUT'))" 2>&1)
    expect_match "REST eth1 sign: keccak256(data) signature recovers the key address" "$REC" "^$ADDR\$"
fi
rpc "$H/api/v1/eth1/sign/0x0000000000000000000000000000000000000001" '{"data":"0x00"}' -H "Authorization: Bearer $TOKEN"
expect_match "REST eth1 sign: unknown key is 404" "$CODE $OUT" '^404 .*no key'
rpc "$H/api/v1/eth1/sign/eth" '{"data":"nothex"}' -H "Authorization: Bearer $TOKEN"
expect_match "REST eth1 sign: bad data is 400" "$CODE $OUT" '^400 .*0x-prefixed hex'
OUT=$(curl -s -m 10 "$H/upcheck"); expect_match "GET /upcheck" "$OUT" '^OK$'
OUT=$(curl -s -m 10 -H "Authorization: Bearer $TOKEN" "$H/healthcheck")
expect_match "GET /healthcheck: quorum per key, parties, certificates" "$OUT" \
    '"status":"UP".*"partiesConnected":3.*"quorumAvailable":true.*"httpsSecondsLeft"'
OUT=$(curl -s -m 10 -H "Authorization: Bearer $TOKEN" "$H/metrics")
expect_match "GET /metrics: Prometheus text with request counters and latency histograms" "$OUT" \
    'tssd_gateway_requests_total\{method="eth1_sign",outcome="ok"\} 1'
expect_match "GET /metrics: presignature stock, parties, certificate expiry" "$OUT" \
    'tssd_presignatures\{key="eth"\}'
expect_match "GET /metrics: cert seconds to expiry" "$OUT" 'tssd_cert_expiry_seconds\{cert="https"\} [0-9]+'

# ---- refusals: precise error, nothing signed, the gateway keeps serving -----------------------
BEFORE=$(signed_count)
rpc "$S/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' --cacert ca/ca.pem
expect_match "HTTPS without certificate or token: 401" "$CODE $OUT" '^401 .*authentication required'
rpc "$H/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' -H "Authorization: Bearer wrong$TOKEN"
expect_match "wrong bearer token: 401" "$CODE $OUT" '^401 .*unknown bearer token'
rpc "$S/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' --cacert ca/ca.pem --cert cstranger/cert.pem --key cstranger/key.pem
expect_match "unconfigured client certificate: refused in the TLS handshake" "$CODE" '^000$'
grep -q 'urn:tssd:client:stranger is not a configured client' gw.log && ok "  ... logged with the reason" || not_ok "  ... logged with the reason" "$(tail -n 5 gw.log)"
rpc "$S/" "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"personal_sign\",\"params\":[\"0x01\",\"$COLD\"]}" --cacert ca/ca.pem --cert cwallet/cert.pem --key cwallet/key.pem
expect_match "key not granted: -32004 naming key and client" "$OUT" '"id":7,"error":\{"code":-32004,"message":"key cold .* is not granted to client wallet"'
rpc "$H/" "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"personal_sign\",\"params\":[\"0x01\",\"$ADDR\"]}" -H "Authorization: Bearer $TOKEN2"
expect_match "method not granted: -32004" "$OUT" '"code":-32004,"message":"method personal_sign is not granted to client reader"'
rpc "$H/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' -H "Authorization: Bearer $TOKEN2"
expect_match "reader (all keys) lists both keys" "$OUT" "\"result\":\\[.*\"$ADDR\".*\\]"
# Derived accounts (issue 15): the hd client lists the key and its two paths'
# children; others do not see them; signing from a child address signs as it.
C7=$("$CTL" --config op.yaml address --key-id eth --path m/0/7 | cut -d' ' -f2)
C1=$("$CTL" --config op.yaml address --key-id eth --path m/1/2147483647 | cut -d' ' -f2)
rpc "$H/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' -H "Authorization: Bearer $TOKEN3"
expect_match "paths: eth_accounts lists the key and its derived accounts" "$OUT" "\"result\":\[\"$ADDR\",\"$C7\",\"$C1\"\]"
rpc "$H/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' -H "Authorization: Bearer $TOKEN2"
if printf '%s' "$OUT" | grep -q "$C7"; then not_ok "a client without paths does not see derived accounts" "$OUT"
else ok "a client without paths does not see derived accounts"; fi
rpc "$H/" "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"personal_sign\",\"params\":[\"0xdeadbeef\",\"$C7\"]}" -H "Authorization: Bearer $TOKEN3"
expect_match "personal_sign from the derived account m/0/7" "$OUT" '"id":4,"result":"0x[0-9a-f]{128}(1b|1c)"'
SIG7=$(printf '%s' "$OUT" | grep -o '0x[0-9a-f]\{130\}')
BEFORE=$((BEFORE + 1)) # this request was granted: one signature more, the refusals add none
if [ -n "$HAVE_LIBS" ]; then
    REC=$(cd "$NPM_DIR" && node -e "const e=require('ethers');console.log(e.verifyMessage(e.getBytes('0xdeadbeef'),'$SIG7'))" 2>&1)
    expect_match "ethers: the signature recovers the derived address" "$REC" "^$C7\$"
fi
grep -q '"path":"m/0/7"' cstate/audit/audit-*.log && ok "the coordinator's audit records the path of the gateway's request" \
    || not_ok "the coordinator's audit records the path of the gateway's request" "$(tail -n 2 cstate/audit/audit-*.log)"
rpc "$H/" "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"personal_sign\",\"params\":[\"0x01\",\"$C7\"]}" -H "Authorization: Bearer $TOKEN"
expect_match "a client without the path cannot sign from the derived account" "$OUT" '"id":5,"error":\{"code":-3200[0-9]'
XPUB=$("$CTL" --config op.yaml keys --key-id eth --xpub)
OUT=$(curl -s -m 10 -H "Authorization: Bearer $TOKEN3" "$H/api/v1/tssd/xpubs")
expect_match "REST xpubs: the granted key's xpub and tpub (as tssctl keys --xpub)" "$OUT" \
    "^\\[\\{\"keyId\":\"eth\",\"address\":\"$ADDR\",\"xpub\":\"$XPUB\",\"tpub\":\"tpub[1-9A-HJ-NP-Za-km-z]{107}\"\\}\\]\$"
rpc "$H/api/v1/tssd/xpubs" '' -G -H "Authorization: Bearer $TOKEN2"
expect_match "REST xpubs needs its grant (tssd_xpubs)" "$CODE" '^403$'
sed 's|paths: \[m/0/7,|paths: [m/0h,|' gw.yaml > badpath.yaml
expect_exit 78 "a hardened path in a client's paths is refused at start" "$BUILD/tss-gateway" --config badpath.yaml --check
expect_match "  ... saying why" "$ERR" "paths.*hardened derivation needs the parent private key"
rpc "$H/" '{"jsonrpc":"2.0","id":1,"method":' -H "Authorization: Bearer $TOKEN"
expect_match "malformed JSON: -32700" "$OUT" '"id":null,"error":\{"code":-32700,"message":"parse error: '
rpc "$H/" '{"jsonrpc":"2.0","id":1,"id":2,"method":"eth_accounts"}' -H "Authorization: Bearer $TOKEN"
expect_match "duplicate keys: -32700" "$OUT" '"code":-32700,"message":"parse error: duplicate object key'
rpc "$H/" "$(printf '[%s]' "$(for i in 1 2 3 4 5; do printf '{"jsonrpc":"2.0","id":%d,"method":"eth_chainId"},' $i; done | sed 's/,$//')")" -H "Authorization: Bearer $TOKEN"
expect_match "batch over the cap: -32600" "$OUT" '"code":-32600,"message":"invalid request: batch of 5 calls exceeds limits.max_batch \(4\)"'
rpc "$H/" '[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"nope"}]' -H "Authorization: Bearer $TOKEN"
expect_match "batch within the cap: per-call results and errors" "$OUT" '^\[\{"jsonrpc":"2.0","id":1,"result":"0x7a69"\},\{"jsonrpc":"2.0","id":2,"error":\{"code":-32601'
if [ ! -f "$ROOT/eth/eip712.h" ]; then
    rpc "$H/" "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"eth_signTypedData_v4\",\"params\":[\"$ADDR\",{}]}" -H "Authorization: Bearer $TOKEN"
    expect_match "eth_signTypedData_v4 without the EIP-712 encoder: -32601 not yet available" "$OUT" '"code":-32601,"message":"eth_signTypedData_v4 is not yet available'
fi
rpc "$H/" '{"jsonrpc":"2.0","id":3,"method":"personal_sign","params":["0x01","0x1111111111111111111111111111111111111111"]}' -H "Authorization: Bearer $TOKEN"
expect_match "unknown address: -32001" "$OUT" '"code":-32001,"message":"unknown account 0x1111111111111111111111111111111111111111'
rpc "$H/" "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"eth_signTransaction\",\"params\":[{\"from\":\"$ADDR\",\"gas\":\"0x5208\",\"nonce\":\"0x0\",\"gasPrice\":\"0x1\",\"chainId\":\"0x1\"}]}" -H "Authorization: Bearer $TOKEN"
expect_match "transaction for another chain: -32602" "$OUT" '"code":-32602,"message":"transaction: chainId 1 is not this signer.s chain 31337"'
head -c 70000 /dev/zero | tr '\0' ' ' > big.json
rpc "$H/" @big.json -H "Authorization: Bearer $TOKEN"
expect_match "oversized body: 413" "$CODE $OUT" '^413 .*limits.max_body'
HDRS=(); for i in $(seq 1 20); do HDRS+=(-H "X-Pad-$i: x"); done
rpc "$H/" '{}' -H "Authorization: Bearer $TOKEN" "${HDRS[@]}"
expect_match "too many headers: 431" "$CODE $OUT" '^431 .*limits.max_headers'
# Slowloris: headers that never end get 408 after timeouts.request (2 s),
# while another client is served meanwhile.
exec 3<>"/dev/tcp/127.0.0.1/$PP"
printf 'POST / HTTP/1.1\r\nHost: x\r\n' >&3
T0=$SECONDS
if accounts_ok; then ok "served another client while a slowloris connection hangs"; else not_ok "served another client while a slowloris connection hangs" "$OUT"; fi
printf 'X-Slow: 1\r\n' >&3
SLOW=$(timeout 10 head -c 300 <&3 | tr -d '\r' | tr '\n' ' ')
exec 3<&-
expect_match "slowloris headers: 408 and close" "$SLOW" '^HTTP/1.1 408 .*Connection: close'
[ $((SECONDS - T0)) -le 8 ] && ok "  ... within timeouts.request" || not_ok "  ... within timeouts.request" "took $((SECONDS - T0)) s"
# Attacker-chosen method names never become metric labels (no label
# injection, no unbounded series: the fixed table once overflowed).
for i in $(seq 1 15); do
    rpc "$H/" "[$(for j in 1 2 3 4; do printf '{"jsonrpc":"2.0","id":%d,"method":"nope\\"x%d_%d"},' $j $i $j; done | sed 's/,$//')]" -H "Authorization: Bearer $TOKEN"
done
expect_match "60 unknown methods: each answered -32601" "$OUT" '"id":4,"error":\{"code":-32601,"message":"method nope\\"x15_4 is not supported"'
OUT=$(curl -s -m 10 -H "Authorization: Bearer $TOKEN" "$H/metrics")
if printf '%s' "$OUT" | grep -q 'nope'; then not_ok "unknown method names are not metric labels" "$(printf '%s' "$OUT" | grep nope | head -3)"
else expect_match "unknown method names are counted as method=\"other\"" "$OUT" 'tssd_gateway_requests_total\{method="other",outcome="error"\} 6[0-9]'; fi
# Connections per client: three kept-alive connections of client wallet are
# served, a fourth gets 429 naming the cap; other clients are unaffected.
REQ="POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"}"
held=""
for fd in 5 6 7; do
    eval "exec $fd<>/dev/tcp/127.0.0.1/$PP"
    printf "$REQ" >&$fd
    held="$held$(timeout 5 head -c 12 <&$fd) "
done
expect_match "three kept-alive connections of one client served" "$held" '^HTTP/1.1 200 HTTP/1.1 200 HTTP/1.1 200 $'
exec 8<>"/dev/tcp/127.0.0.1/$PP"
printf "$REQ" >&8
FOURTH=$(timeout 5 cat <&8 | tr -d '\r' | tr '\n' ' ')
exec 8<&-
expect_match "a fourth connection of the same client: 429 naming the cap" "$FOURTH" '^HTTP/1.1 429 .*client wallet already has 3 connections \(limits.max_connections_per_client\)'
rpc "$H/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' -H "Authorization: Bearer $TOKEN2"
expect_match "  ... while another client is served" "$OUT" '"result":\['
exec 5<&- 6<&- 7<&-
if wait_until 10 accounts_ok; then ok "  ... and the client is served again once its connections close"; else not_ok "  ... served again after closing" "$OUT"; fi
AFTER=$(signed_count)
[ "$BEFORE" = "$AFTER" ] && ok "nothing signed by any refused request" || not_ok "nothing signed by any refused request" "$BEFORE -> $AFTER"
alive "$GW" && accounts_ok && ok "gateway still serving after the refusals" || not_ok "gateway still serving after the refusals" "$OUT"

# ---- downstream node (ganache): eth_sendTransaction filled, signed, mined; proxying ----------
GANACHE=$NPM_DIR/node_modules/ganache/dist/node/cli.js
if [ -n "$HAVE_LIBS" ] && [ -f "$GANACHE" ]; then
    NP=$(free_port); GP2=$(free_port)
    timeout 300 node "$GANACHE" --chain.chainId 31337 --server.host 127.0.0.1 --server.port "$NP" \
        --logging.quiet >ganache.log 2>&1 &
    PIDS+=("$!")
    node_rpc() { curl -s -m 10 -H 'Content-Type: application/json' -d "$1" "http://127.0.0.1:$NP/"; }
    ganache_up() { node_rpc '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' | grep -q '"result":\["0x'; }
    if wait_until 60 ganache_up; then
        G0=$(node_rpc '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' | grep -o '0x[0-9a-fA-F]\{40\}' | head -1)
        node_rpc "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_sendTransaction\",\"params\":[{\"from\":\"$G0\",\"to\":\"$ADDR\",\"value\":\"0x8ac7230489e80000\"}]}" >/dev/null
        sed -e "s|^listen: .*|listen: []|" -e "s|^plain_listen: .*|plain_listen: [127.0.0.1:$GP2]|" \
            -e "s|^audit_dir: .*|audit_dir: $WORK/gwaudit2|" gw.yaml > gw2.yaml
        echo "downstream: http://127.0.0.1:$NP/" >> gw2.yaml
        "$BUILD/tss-gateway" --config gw2.yaml 2>>gw2.log &
        GW2=$!; PIDS+=("$GW2")
        H2="http://127.0.0.1:$GP2"
        up2() { rpc "$H2/" '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' -H "Authorization: Bearer $TOKEN"; printf '%s' "$OUT" | grep -q "$ADDR"; }
        wait_until 20 up2 || not_ok "second gateway (downstream) up" "$OUT" "$(tail -n 5 gw2.log)"
        rpc "$H2/" "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"eth_sendTransaction\",\"params\":[{\"from\":\"$ADDR\",\"to\":\"0x000000000000000000000000000000000000dEaD\",\"value\":\"0x2a\"}]}" -H "Authorization: Bearer $TOKEN"
        expect_match "eth_sendTransaction: nonce, gas and fees filled from ganache, signed, submitted" "$OUT" '"id":5,"result":"0x[0-9a-f]{64}"'
        TXH=$(printf '%s' "$OUT" | grep -o '0x[0-9a-f]\{64\}' | head -1)
        rpc "$H2/" "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"eth_getTransactionReceipt\",\"params\":[\"$TXH\"]}" -H "Authorization: Bearer $TOKEN"
        LADDR=$(printf '%s' "$ADDR" | tr 'A-F' 'a-f')
        expect_match "mined with the key as sender (receipt proxied from ganache)" "$OUT" "\"from\":\"$LADDR\""
        expect_match "  ... and status 1" "$OUT" '"status":"0x1"'
        rpc "$H2/" '{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}' -H "Authorization: Bearer $TOKEN"
        expect_match "an unknown method is proxied to the node" "$OUT" '"id":7,"result":"0x[0-9a-f]+"'
        rpc "$H2/" '{"jsonrpc":"2.0","id":8,"method":"eth_blockNumber"}' -H "Authorization: Bearer $TOKEN2"
        expect_match "proxying obeys the method grants" "$OUT" '"code":-32004,"message":"method eth_blockNumber is not granted to client reader"'
        rpc "$H2/" '{"jsonrpc":"2.0","id":9,"method":"nope_nothing"}' -H "Authorization: Bearer $TOKEN"
        expect_match "the node's own error is passed back (code and message only)" "$OUT" \
            '^\{"jsonrpc":"2.0","id":9,"error":\{"code":-?[0-9]+,"message":"The method nope_nothing does not exist/is not available"\}\}$'
        kill -TERM "$GW2"; wait_until 10 bash -c "! kill -0 $GW2 2>/dev/null"
    else
        not_ok "ganache started" "$(tail -n 10 ganache.log)"
    fi
else
    echo "SKIP downstream checks: ganache not available"
fi

# ---- audit -------------------------------------------------------------------------------------
expect_exit 0 "gateway audit chain verifies" "$CTL" audit verify --dir "$WORK/gwaudit"
grep -q "\"client\":\"wallet\".*\"method\":\"eth_signTransaction\".*\"address\":\"$ADDR\".*\"digest\":\"0x[0-9a-f]\{64\}\".*\"session\":\"0x[0-9a-f]*\"" gwaudit/*.log \
    && ok "audit: transaction record with client, key, digest, session" || not_ok "audit: transaction record" "$(tail -n 3 gwaudit/*.log)"
grep -q '"tx":{"txType":2,"to":"0x000000000000000000000000000000000000dEaD","value":"1000000000000000","chainId":31337' gwaudit/*.log \
    && ok "audit: decoded transaction summary (to, value, chain id)" || { [ -z "$HAVE_LIBS" ] && ok "audit tx summary skipped (no npm)" || not_ok "audit: decoded transaction summary" "$(grep txType gwaudit/*.log | head -2)"; }
if [ -n "$HAVE_LIBS" ] && [ -f "$ROOT/eth/eip712.h" ]; then
    grep -q '"domain":{"primaryType":"Mail","name":"Ether Mail","version":"1","chainId":"31337","verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"}.*"method":"eth_signTypedData_v4"' gwaudit/*.log \
        && ok "audit: typed-data domain recorded" || not_ok "audit: typed-data domain recorded" "$(grep TypedData gwaudit/*.log | head -2)"
fi
grep -q '"outcome":"refused".*"status":401' gwaudit/*.log && ok "audit: refusals recorded" || not_ok "audit: refusals recorded" ""

# Clean stop on SIGTERM (exit 0; under an ASan build, no sanitizer report).
kill -TERM "$GW"; wait_until 10 bash -c "! kill -0 $GW 2>/dev/null"; wait "$GW"; rc=$?
[ "$rc" = 0 ] && ok "SIGTERM: gateway exits 0" || not_ok "SIGTERM: gateway exits 0" "exit $rc" "$(tail -n 20 gw.log)"
if grep -q 'Sanitizer' gw.log gw2.log 2>/dev/null; then not_ok "no sanitizer report" "$(grep -A 12 Sanitizer gw.log gw2.log | head -n 30)"
else ok "no sanitizer report"; fi
finish
