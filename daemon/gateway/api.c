/* Routing, JSON-RPC 2.0 on "/" and Web3Signer's REST surface (docs/API.md).
 *
 * Every request body goes through jansson with duplicate keys rejected,
 * after a scan that bounds nesting depth (limits.max_json_depth) so no
 * attacker-chosen depth reaches the parser's recursion. Signing requests
 * become one 32-byte digest each, signed by the coordinator over the
 * operator channel; the answer is verified against the key (and, for a
 * transaction, decoded back and its sender recovered) before the client
 * sees it. Every request is audited. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <http_parser.h>

#include "daemon/gateway/gw.h"
#include "mpc/bip32.h"
#include "eth/eip191.h"
#include "policy/request.h"
#include "eth/keccak.h"
#include "eth/sig.h"
#include "eth/tx.h"
#include "eth/tx_json.h"
#include "eth/u256.h"
#include "util/hex.h"
#include "util/log.h"

#if __has_include("eth/eip712.h")
#include "eth/eip712.h"
#define GW_HAVE_EIP712 1
#endif

/* JSON-RPC error codes (docs/API.md). */
#define RPC_PARSE -32700
#define RPC_INVALID_REQUEST -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS -32602
#define RPC_INTERNAL -32603
#define RPC_UNKNOWN_ACCOUNT -32001
#define RPC_SIGNING_REFUSED -32002
#define RPC_QUORUM_UNAVAILABLE -32003
#define RPC_NOT_PERMITTED -32004
#define RPC_DOWNSTREAM -32005

typedef enum { K_NONE, K_MESSAGE, K_TX, K_TYPED, K_REST } call_kind;

typedef struct rpc_req rpc_req;

typedef struct {
    rpc_req *req;
    json_t *id; /* NULL: a notification (no answer in the batch) */
    char method[64];
    json_t *result, *error;
    call_kind kind;
    gw_key key;
    uint8_t digest[32];
    tss_eth_tx tx;
    tss_eth_tx_storage txs;
    gw_up_call *up;
    int64_t t0;
    json_t *audit; /* the record's request part */
    /* eth_sendTransaction: the transaction being completed from the node,
     * which step is waiting, and whether to submit after signing. */
    json_t *stx;
    int fill;
    bool submit;
    /* The request content sent with the signature request (policy/request.h):
     * each party computes the digest from it and applies its policy. */
    tss_writer content;
} rpc_call;

struct rpc_req {
    gw *g;
    gw_http_hold *h;
    const gw_client *client;
    char peer[80];
    bool batch, rest;
    size_t n, outstanding;
    /* The request's Tssd-Approval headers (policy/approval.h list), sent with
     * every signature it asks for; each party counts only the approvals of
     * exactly that request. */
    uint8_t *approvals;
    size_t approvals_len;
    rpc_call calls[];
};

/* ---- helpers --------------------------------------------------------------------------- */

static char *hex0x(const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 3);
    if (!s) return NULL;
    s[0] = '0';
    s[1] = 'x';
    tss_hex_encode(s + 2, p, n);
    return s;
}

static json_t *json_hex(const uint8_t *p, size_t n) {
    char *s = hex0x(p, n);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

static void set_error(rpc_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(rpc_call *c, int code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_decref(c->error);
    c->error = json_pack("{s:i,s:s}", "code", code, "message", msg);
}

/* "0x" + even hex digits -> bytes (malloc'd, *n may be 0). */
static bool parse_data(const char *s, uint8_t **out, size_t *n) {
    size_t len = strlen(s);
    if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || (len - 2) % 2) return false;
    *n = (len - 2) / 2;
    *out = malloc(*n ? *n : 1);
    if (!*out) return false;
    if (*n && !tss_is_ok(tss_hex_decode(*out, *n, s + 2, "data"))) {
        free(*out);
        return false;
    }
    return true;
}

static bool parse_address(const char *s, uint8_t a[TSS_ETH_ADDRESS_LEN]) {
    return tss_is_ok(tss_eth_address_parse(a, s, NULL));
}

/* Deepest nesting of arrays/objects in JSON text (strings skipped): bounded
 * before jansson parses it. */
static size_t json_depth(const char *s, size_t n) {
    size_t d = 0, max = 0;
    bool str = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (str) {
            if (ch == '\\') i++;
            else if (ch == '"') str = false;
        } else if (ch == '"') {
            str = true;
        } else if (ch == '[' || ch == '{') {
            if (++d > max) max = d;
        } else if ((ch == ']' || ch == '}') && d) {
            d--;
        }
    }
    return max;
}

void gw_audit(gw *g, json_t *record, bool durable) {
    if (!g->audit || !record) return;
    json_object_set_new(record, "type", json_string("gateway"));
    json_object_set_new(record, "time", json_integer(tss_wall_ms()));
    char *s = json_dumps(record, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s) return;
    size_t len = strlen(s);
    if (len > TSS_AUDIT_MAX_BODY) { /* keep the record, drop the detail */
        free(s);
        json_object_del(record, "detail");
        json_object_del(record, "tx");
        json_object_set_new(record, "truncated", json_true());
        s = json_dumps(record, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s) return;
        len = strlen(s);
    }
    /* Written at once, fdatasync'd by the audit timer within a second
     * (main.c): the coordinator's own log already holds every signature
     * durably (session, digest, operator) before it answers; this record
     * adds the application's identity and request summary. */
    (void)durable;
    if (!tss_is_ok(tss_audit_append(g->audit, s, len, false)) ||
        !tss_is_ok(tss_audit_flush(g->audit, false, tss_wall_ms())))
        tss_log(LOG_ERR, "audit: %s", tss_error_detail());
    free(s);
}

/* ---- answering ------------------------------------------------------------------------ */

static void respond_json(gw_http_hold *h, int status, json_t *body) {
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    gw_http_respond(h, s ? status : 500, "application/json", s ? s : "{}", s ? strlen(s) : 2);
    free(s);
    json_decref(body);
}

static json_t *rpc_error_obj(json_t *id, int code, const char *msg) {
    return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                     "error", "code", code, "message", msg);
}

/* Metric label for a method: attacker-chosen names become "other" (no
 * label injection, no unbounded series). */
static const char *stat_name(const char *method);

static void finish_call_audit(rpc_req *rq, rpc_call *c, const tss_wire_op_response *resp) {
    json_t *a = c->audit ? c->audit : json_object();
    c->audit = NULL;
    json_object_set_new(a, "client", json_string(rq->client ? rq->client->cfg->name : "-"));
    json_object_set_new(a, "peer", json_string(rq->peer));
    json_object_set_new(a, "method", json_string(c->method));
    if (c->kind != K_NONE && c->key.info.key_id[0]) {
        json_object_set_new(a, "key", json_string(c->key.info.key_id));
        json_object_set_new(a, "address", json_string(c->key.addr_s));
        json_object_set_new(a, "digest", json_hex(c->digest, 32));
    }
    if (resp) {
        json_object_set_new(a, "session", json_hex(resp->session_id, sizeof resp->session_id));
        json_object_set_new(a, "presigned", json_boolean(resp->presigned));
        /* Why a signature was made in full (the coordinator's text on success). */
        if (resp->status == 0 && resp->has_signature && !resp->presigned && resp->text[0])
            json_object_set_new(a, "fallback", json_string(resp->text));
    }
    if (c->error) {
        json_object_set_new(a, "outcome", json_string("error"));
        json_object_set(a, "error", c->error);
    } else {
        json_object_set_new(a, "outcome", json_string("ok"));
    }
    gw_stats_count(rq->g, stat_name(c->method), c->error ? 1 : 0);
    gw_audit(rq->g, a, c->kind != K_NONE);
    json_decref(a);
}

static void free_req(rpc_req *rq) {
    for (size_t i = 0; i < rq->n; i++) {
        rpc_call *c = &rq->calls[i];
        json_decref(c->id);
        json_decref(c->result);
        json_decref(c->error);
        json_decref(c->audit);
        json_decref(c->stx);
        tss_eth_tx_storage_free(&c->txs);
        tss_writer_free(&c->content);
    }
    free(rq->approvals);
    free(rq);
}

static void req_done(rpc_req *rq) {
    if (rq->rest) {
        rpc_call *c = &rq->calls[0];
        if (c->error) {
            int code = (int)json_integer_value(json_object_get(c->error, "code"));
            int st = code == RPC_UNKNOWN_ACCOUNT ? 404
                     : code == RPC_QUORUM_UNAVAILABLE ? 503
                     : code == RPC_NOT_PERMITTED ? 403
                     : code == RPC_SIGNING_REFUSED || code == RPC_INTERNAL ? 500
                                                                            : 400;
            respond_json(rq->h, st,
                         json_pack("{s:O}", "error", json_object_get(c->error, "message")));
        } else {
            const char *s = json_string_value(c->result);
            gw_http_respond(rq->h, 200, "text/plain", s ? s : "", s ? strlen(s) : 0);
        }
        free_req(rq);
        return;
    }
    json_t *out = rq->batch ? json_array() : NULL;
    for (size_t i = 0; i < rq->n; i++) {
        rpc_call *c = &rq->calls[i];
        if (!c->id) continue; /* notification */
        json_t *one = c->error ? json_pack("{s:s,s:O,s:O}", "jsonrpc", "2.0", "id", c->id, "error",
                                           c->error)
                               : json_pack("{s:s,s:O,s:O}", "jsonrpc", "2.0", "id", c->id,
                                           "result", c->result ? c->result : json_null());
        if (rq->batch) json_array_append_new(out, one);
        else out = one;
    }
    if (!out) gw_http_respond(rq->h, 204, "application/json", "", 0); /* only notifications */
    else respond_json(rq->h, 200, out);
    free_req(rq);
}

static void call_done(rpc_call *c) {
    rpc_req *rq = c->req;
    if (--rq->outstanding == 0) req_done(rq);
}

/* ---- signing through the coordinator ------------------------------------------------------ */

static bool verified_sig(rpc_call *c, const tss_wire_op_response *resp, tss_eth_sig *sig) {
    if (resp->key_count != 1 || !resp->has_signature ||
        memcmp(resp->digest, c->digest, 32) != 0) {
        set_error(c, RPC_SIGNING_REFUSED, "the coordinator answered for another digest");
        return false;
    }
    memcpy(sig->r, resp->r, 32);
    memcpy(sig->s, resp->s, 32);
    sig->recid = resp->recid;
    if (!tss_is_ok(tss_eth_sig_normalize(sig, NULL)) ||
        !tss_is_ok(tss_eth_sig_verify(c->digest, sig, c->key.unc, sizeof c->key.unc))) {
        set_error(c, RPC_SIGNING_REFUSED, "the coordinator's signature does not verify against "
                  "key %s: %s", c->key.info.key_id, tss_error_detail());
        return false;
    }
    return true;
}

static void finish_tx(rpc_call *c, const tss_eth_sig *sig) {
    tss_writer w;
    tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 256);
    tss_result r = tss_eth_tx_encode_signed(&c->tx, sig, &w);
    if (tss_is_ok(r)) r = tss_writer_status(&w, "signed transaction");
    tss_eth_signed_tx stx;
    memset(&stx, 0, sizeof stx);
    uint8_t from[TSS_ETH_ADDRESS_LEN];
    if (tss_is_ok(r)) r = tss_eth_tx_decode_signed(&stx, w.data, w.len);
    if (tss_is_ok(r)) r = tss_eth_tx_sender(&stx, from);
    tss_eth_signed_tx_free(&stx);
    if (tss_is_ok(r) && memcmp(from, c->key.addr, sizeof from) != 0)
        r = tss_fail(TSS_E_PROTOCOL, "the encoded transaction's sender is not %s", c->key.addr_s);
    if (tss_is_ok(r)) c->result = json_hex(w.data, w.len);
    else set_error(c, RPC_SIGNING_REFUSED, "refusing: %s", tss_error_detail());
    tss_writer_free(&w);
}

static bool submit_raw(rpc_call *c);

static void on_signed(void *arg, const tss_wire_op_response *resp, const char *err) {
    rpc_call *c = arg;
    gw *g = c->req->g;
    c->up = NULL;
    g->stats.sign_in_flight--;
    if (!resp) {
        set_error(c, RPC_QUORUM_UNAVAILABLE, "quorum unavailable: %s", err);
    } else if (resp->status != 0) {
        const char *name = tss_wire_error_code_name(resp->status);
        int code = resp->status == TSS_WIRE_ERR_UNKNOWN_SESSION ? RPC_UNKNOWN_ACCOUNT
                   : resp->status == TSS_WIRE_ERR_SHUTDOWN || resp->status == TSS_WIRE_ERR_LIMIT
                       ? RPC_QUORUM_UNAVAILABLE
                       : RPC_SIGNING_REFUSED;
        if (resp->culprit)
            set_error(c, code, "signing failed (%s): %s (culprit: party %u)", name ? name : "?",
                      resp->text, resp->culprit);
        else
            set_error(c, code, "signing failed (%s): %s", name ? name : "?", resp->text);
    } else {
        tss_eth_sig sig;
        if (verified_sig(c, resp, &sig)) {
            gw_stats_latency(g, resp->presigned, (double)(tss_now_ms() - c->t0) / 1000.0);
            if (c->kind == K_TX) {
                finish_tx(c, &sig);
                if (c->submit && !c->error && submit_raw(c)) return; /* completes later */
            } else {
                uint8_t rsv[TSS_ETH_SIG_RSV_LEN];
                if (tss_is_ok(tss_eth_sig_to_rsv(&sig, rsv))) c->result = json_hex(rsv, sizeof rsv);
                else set_error(c, RPC_INTERNAL, "cannot encode the signature");
            }
        }
    }
    finish_call_audit(c->req, c, resp);
    call_done(c);
}

/* Set the request content (type, body) the parties evaluate. */
static bool set_content(rpc_call *c, uint8_t type, const uint8_t *body, size_t len) {
    tss_writer_free(&c->content);
    tss_writer_init(&c->content, TSS_WIRE_MAX_REQUEST);
    tss_request req = {type, body, len};
    if (tss_is_ok(tss_request_encode(&c->content, &req))) return true;
    set_error(c, RPC_INVALID_PARAMS, "request content: %s", tss_error_detail());
    return false;
}

/* Queue the signature of c->digest with c->key; the call completes later. */
static bool start_sign(rpc_call *c) {
    gw *g = c->req->g;
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.command = TSS_WIRE_OP_SIGN;
    snprintf(rq.key_id, sizeof rq.key_id, "%s", c->key.info.key_id);
    memcpy(rq.digest, c->digest, 32);
    rq.path = c->key.path; /* a derived account: the parties sign as its child key */
    if (c->req->approvals_len) {
        /* Approvals travel only with request content: a bare digest goes as
         * a "raw" request (what `tssctl approve --digest` approves). */
        if (!c->content.len && !set_content(c, TSS_REQ_RAW, c->digest, 32)) return false;
        rq.approvals = c->req->approvals;
        rq.approvals_len = c->req->approvals_len;
    }
    rq.request = c->content.len ? c->content.data : NULL;
    rq.request_len = c->content.len;
    c->t0 = tss_now_ms();
    tss_result r = gw_up_request(g, &rq, on_signed, c, &c->up);
    if (!tss_is_ok(r)) {
        set_error(c, RPC_QUORUM_UNAVAILABLE, "quorum unavailable: %s", tss_error_detail());
        return false;
    }
    g->stats.sign_in_flight++;
    return true;
}

/* The key behind an address parameter, granted to the client. */
static bool key_for(rpc_call *c, const char *addr_text) {
    gw *g = c->req->g;
    uint8_t a[TSS_ETH_ADDRESS_LEN];
    if (!addr_text || !parse_address(addr_text, a)) {
        set_error(c, RPC_INVALID_PARAMS, "invalid address '%.64s'", addr_text ? addr_text : "");
        return false;
    }
    const gw_key *k = gw_key_by_address(g, a);
    if (!k) {
        set_error(c, RPC_UNKNOWN_ACCOUNT, "unknown account %.42s: no key with this address",
                  addr_text);
        return false;
    }
    if (!gw_auth_key(c->req->client, k)) {
        set_error(c, RPC_NOT_PERMITTED, "key %s (%s) is not granted to client %s", k->info.key_id,
                  k->addr_s, c->req->client->cfg->name);
        return false;
    }
    c->key = *k;
    return true;
}

/* ---- methods --------------------------------------------------------------------------------- */

static bool m_accounts(rpc_call *c, json_t *params) {
    (void)params;
    gw *g = c->req->g;
    c->result = json_array();
    for (size_t i = 0; i < g->n_keys; i++)
        if (gw_auth_key(c->req->client, &g->keys[i]))
            json_array_append_new(c->result, json_string(g->keys[i].addr_s));
    return false;
}

static bool m_chain_id(rpc_call *c, json_t *params) {
    (void)params;
    char s[32];
    snprintf(s, sizeof s, "0x%llx", (unsigned long long)c->req->g->cfg.chain_id);
    c->result = json_string(s);
    return false;
}

static bool m_net_version(rpc_call *c, json_t *params) {
    (void)params;
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)c->req->g->cfg.chain_id);
    c->result = json_string(s);
    return false;
}

/* eth_sign [address, data] and personal_sign [data, address]: EIP-191. */
static bool sign_message(rpc_call *c, json_t *params, bool personal) {
    if (!json_is_array(params) || json_array_size(params) < 2 || json_array_size(params) > 3) {
        set_error(c, RPC_INVALID_PARAMS, "%s expects [%s]", c->method,
                  personal ? "data, address" : "address, data");
        return false;
    }
    const char *data = json_string_value(json_array_get(params, personal ? 0 : 1));
    const char *addr = json_string_value(json_array_get(params, personal ? 1 : 0));
    uint8_t *msg;
    size_t n;
    if (!data || !parse_data(data, &msg, &n)) {
        set_error(c, RPC_INVALID_PARAMS, "%s: data must be 0x-prefixed hex bytes", c->method);
        return false;
    }
    if (!key_for(c, addr)) {
        free(msg);
        return false;
    }
    c->kind = K_MESSAGE;
    tss_result r = tss_eip191_digest(c->digest, msg, n);
    bool content_ok = !tss_is_ok(r) || set_content(c, TSS_REQ_EIP191, msg, n);
    free(msg);
    if (!content_ok) return false;
    if (!tss_is_ok(r)) {
        set_error(c, RPC_INTERNAL, "%s", tss_error_detail());
        return false;
    }
    json_object_set_new(c->audit, "length", json_integer((json_int_t)n));
    return start_sign(c);
}

static bool m_eth_sign(rpc_call *c, json_t *p) { return sign_message(c, p, false); }
static bool m_personal_sign(rpc_call *c, json_t *p) { return sign_message(c, p, true); }

/* A JSON-RPC transaction object -> the tx_json form (eth/tx_json.h), so one
 * strict parser checks every field. */
static bool m_sign_tx(rpc_call *c, json_t *params) {
    gw *g = c->req->g;
    json_t *t = json_array_get(params, 0);
    if (!json_is_array(params) || json_array_size(params) != 1 || !json_is_object(t)) {
        set_error(c, RPC_INVALID_PARAMS, "eth_signTransaction expects [transaction object]");
        return false;
    }
    /* Types 3 and 4 fields pass through to eth/tx_json.h, which accepts
     * them when eth/tx.h supports those types and names them otherwise. */
    static const char *const known[] = {"from", "to", "gas", "gasLimit", "gasPrice",
                                        "maxFeePerGas", "maxPriorityFeePerGas", "value", "data",
                                        "input", "nonce", "chainId", "type", "accessList",
                                        "maxFeePerBlobGas", "blobVersionedHashes",
                                        "authorizationList", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++) ok = strcmp(k, known[i]) == 0;
        if (!ok) {
            set_error(c, RPC_INVALID_PARAMS, "transaction: unsupported field '%.64s'", k);
            return false;
        }
    }
    if (!key_for(c, json_string_value(json_object_get(t, "from")))) return false;
    json_t *gas = json_object_get(t, "gas"), *gas_limit = json_object_get(t, "gasLimit");
    json_t *data = json_object_get(t, "data"), *input = json_object_get(t, "input");
    if (gas && gas_limit && !json_equal(gas, gas_limit)) {
        set_error(c, RPC_INVALID_PARAMS, "transaction: gas and gasLimit differ");
        return false;
    }
    if (data && input && !json_equal(data, input)) {
        set_error(c, RPC_INVALID_PARAMS, "transaction: data and input differ");
        return false;
    }
    json_t *o = json_object();
    json_t *type = json_object_get(t, "type");
    if (type) json_object_set(o, "type", type);
    else
        json_object_set_new(o, "type",
                            json_integer(json_object_get(t, "authorizationList")     ? 4
                                         : json_object_get(t, "blobVersionedHashes") ? 3
                                         : json_object_get(t, "maxFeePerGas")        ? 2
                                         : json_object_get(t, "accessList")          ? 1
                                                                                     : 0));
    json_t *chain = json_object_get(t, "chainId");
    if (chain) json_object_set(o, "chainId", chain);
    else json_object_set_new(o, "chainId", json_integer(g->cfg.chain_id));
    static const char *const copy[] = {"to", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas",
                                       "value", "nonce", "accessList", "maxFeePerBlobGas",
                                       "blobVersionedHashes", "authorizationList", NULL};
    for (size_t i = 0; copy[i]; i++)
        if ((v = json_object_get(t, copy[i])) && !json_is_null(v)) json_object_set(o, copy[i], v);
    if (gas || gas_limit) json_object_set(o, "gasLimit", gas ? gas : gas_limit);
    if (data || input) json_object_set(o, "data", data ? data : input);
    if (!json_object_get(o, "value")) json_object_set_new(o, "value", json_integer(0));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) {
        set_error(c, RPC_INTERNAL, "out of memory");
        return false;
    }
    tss_result r = tss_eth_tx_from_json(text, strlen(text), &c->tx, &c->txs);
    free(text);
    if (!tss_is_ok(r)) {
        set_error(c, RPC_INVALID_PARAMS, "transaction: %s", tss_error_detail());
        return false;
    }
    if (c->tx.chain_id != (uint64_t)g->cfg.chain_id) {
        set_error(c, RPC_INVALID_PARAMS, "transaction: chainId %llu is not this signer's chain "
                  "%lld", (unsigned long long)c->tx.chain_id, (long long)g->cfg.chain_id);
        return false;
    }
    r = tss_eth_tx_signing_hash(&c->tx, c->digest);
    if (!tss_is_ok(r)) {
        set_error(c, RPC_INVALID_PARAMS, "transaction: %s", tss_error_detail());
        return false;
    }
    tss_writer body;
    tss_writer_init(&body, TSS_REQ_MAX_BODY);
    r = tss_eth_tx_encode_unsigned(&c->tx, &body);
    if (tss_is_ok(r)) r = tss_writer_status(&body, "transaction");
    bool content_ok = tss_is_ok(r) ? set_content(c, TSS_REQ_TX, body.data, body.len)
                                   : (set_error(c, RPC_INVALID_PARAMS, "transaction: %s",
                                                tss_error_detail()), false);
    tss_writer_free(&body);
    if (!content_ok) return false;
    c->kind = K_TX;
    /* Audit summary: what is being paid to whom on which chain. */
    char to[TSS_ETH_ADDRESS_STR_SIZE] = "", val[TSS_ETH_U256_DEC_SIZE];
    if (c->tx.has_to && !tss_is_ok(tss_eth_address_to_string(to, c->tx.to))) to[0] = '\0';
    tss_eth_u256_to_dec(val, c->tx.value);
    json_object_set_new(c->audit, "tx",
                        json_pack("{s:i,s:s,s:s,s:I,s:I,s:i}", "txType", (int)c->tx.type, "to",
                                  c->tx.has_to ? to : "(contract creation)", "value", val,
                                  "chainId", (json_int_t)c->tx.chain_id, "nonce",
                                  (json_int_t)c->tx.nonce, "dataLength", (int)c->tx.data_len));
    return start_sign(c);
}

static bool m_sign_typed(rpc_call *c, json_t *params) {
#ifdef GW_HAVE_EIP712
    if (!json_is_array(params) || json_array_size(params) != 2) {
        set_error(c, RPC_INVALID_PARAMS, "%s expects [address, typedData]", c->method);
        return false;
    }
    json_t *td = json_array_get(params, 1);
    tss_eip712_result res;
    tss_result r;
    if (json_is_string(td)) r = tss_eip712_hash_json(json_string_value(td), json_string_length(td), &res);
    else if (json_is_object(td)) r = tss_eip712_hash_value(td, &res);
    else r = tss_fail(TSS_E_INVALID, "typed data must be an object or a JSON string");
    if (!tss_is_ok(r)) {
        set_error(c, RPC_INVALID_PARAMS, "typed data: %s", tss_error_detail());
        return false;
    }
    if (!key_for(c, json_string_value(json_array_get(params, 0)))) return false;
    memcpy(c->digest, res.digest, 32);
    /* The parties hash the text themselves: send exactly the text given, or
     * the object's compact JSON (the same typed data). */
    char *dumped = json_is_string(td) ? NULL : json_dumps(td, JSON_COMPACT);
    const char *text = json_is_string(td) ? json_string_value(td) : dumped;
    size_t tlen = json_is_string(td) ? json_string_length(td) : (dumped ? strlen(dumped) : 0);
    bool content_ok = text && set_content(c, TSS_REQ_EIP712, (const uint8_t *)text, tlen);
    free(dumped);
    if (!content_ok) {
        if (!text) set_error(c, RPC_INTERNAL, "typed data: cannot serialise");
        return false;
    }
    c->kind = K_TYPED;
    json_t *d = json_object();
    json_object_set_new(d, "primaryType", json_string(res.primary_type));
    if (res.has_name) json_object_set_new(d, "name", json_string(res.name));
    if (res.has_version) json_object_set_new(d, "version", json_string(res.version));
    if (res.has_chain_id) {
        char dec[TSS_ETH_U256_DEC_SIZE];
        tss_eth_u256_to_dec(dec, res.chain_id);
        json_object_set_new(d, "chainId", json_string(dec));
    }
    if (res.has_verifying_contract) {
        char vc[TSS_ETH_ADDRESS_STR_SIZE];
        if (tss_is_ok(tss_eth_address_to_string(vc, res.verifying_contract)))
            json_object_set_new(d, "verifyingContract", json_string(vc));
    }
    json_object_set_new(c->audit, "domain", d);
    return start_sign(c);
#else
    (void)params;
    set_error(c, RPC_METHOD_NOT_FOUND,
              "%s is not yet available in this build (EIP-712 encoder pending)", c->method);
    return false;
#endif
}

/* ---- the downstream node: eth_sendTransaction and proxying ------------------------------ */

/* Copy the node's result or error into the call. */
static bool take_reply(rpc_call *c, json_t *reply, const char *err, json_t **result) {
    *result = NULL;
    if (!reply) {
        set_error(c, RPC_DOWNSTREAM, "downstream node: %s", err);
        return false;
    }
    json_t *e = json_object_get(reply, "error");
    if (e) {
        /* Only the JSON-RPC members: not the node's stack traces. */
        json_t *code = json_object_get(e, "code"), *msg = json_object_get(e, "message");
        json_decref(c->error);
        c->error = json_pack("{s:I,s:s}", "code",
                             json_is_integer(code) ? json_integer_value(code) : RPC_DOWNSTREAM,
                             "message", json_is_string(msg) ? json_string_value(msg)
                                                            : "downstream node: error");
        if (json_object_get(e, "data")) json_object_set(c->error, "data", json_object_get(e, "data"));
        return false;
    }
    *result = json_object_get(reply, "result");
    if (!*result) {
        set_error(c, RPC_DOWNSTREAM, "downstream node: answer without result");
        return false;
    }
    return true;
}

static void on_sent(void *arg, json_t *reply, const char *err) {
    rpc_call *c = arg;
    json_t *res;
    json_t *raw = c->result;
    c->result = NULL;
    if (take_reply(c, reply, err, &res)) c->result = json_incref(res);
    if (raw) json_object_set_new(c->audit, "raw", raw);
    finish_call_audit(c->req, c, NULL);
    call_done(c);
}

static bool submit_raw(rpc_call *c) {
    json_t *params = json_pack("[O]", c->result);
    tss_result r = gw_down_request(c->req->g, "eth_sendRawTransaction", params, on_sent, c);
    json_decref(params);
    if (!tss_is_ok(r)) {
        set_error(c, RPC_DOWNSTREAM, "downstream node: %s", tss_error_detail());
        return false;
    }
    return true;
}

enum { FILL_NONE, FILL_NONCE, FILL_GAS, FILL_GAS_PRICE, FILL_PRIORITY, FILL_BASE_FEE };

static bool fill_next(rpc_call *c);
static bool m_sign_tx(rpc_call *c, json_t *params);

/* maxFeePerGas = 2 * baseFee + priority fee (what wallets use). */
static json_t *max_fee(const char *base_hex, json_t *prio) {
    uint8_t base[32], p[32], out[32];
    if (!base_hex || !json_is_string(prio) ||
        !tss_is_ok(tss_eth_u256_parse(base, base_hex, "baseFeePerGas")) ||
        !tss_is_ok(tss_eth_u256_parse(p, json_string_value(prio), "maxPriorityFeePerGas")))
        return NULL;
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned v = 2u * base[i] + p[i] + carry;
        out[i] = (uint8_t)v;
        carry = v >> 8;
    }
    if (carry) return NULL;
    char hex[67];
    size_t i = 0;
    while (i < 31 && out[i] == 0) i++;
    tss_hex_encode(hex + 2, out + i, 32 - i);
    hex[0] = '0';
    hex[1] = 'x';
    const char *h = hex + 2;
    if (h[0] == '0' && h[1]) { /* quantities have no leading zero digit */
        memmove(hex + 2, hex + 3, strlen(hex + 3) + 1);
    }
    return json_string(hex);
}

static void on_filled(void *arg, json_t *reply, const char *err) {
    rpc_call *c = arg;
    json_t *res;
    bool ok = take_reply(c, reply, err, &res);
    if (ok) {
        switch (c->fill) {
        case FILL_NONCE: json_object_set(c->stx, "nonce", res); break;
        case FILL_GAS: json_object_set(c->stx, "gas", res); break;
        case FILL_GAS_PRICE: json_object_set(c->stx, "gasPrice", res); break;
        case FILL_PRIORITY: json_object_set(c->stx, "maxPriorityFeePerGas", res); break;
        case FILL_BASE_FEE: {
            json_t *mf = max_fee(json_string_value(json_object_get(res, "baseFeePerGas")),
                                 json_object_get(c->stx, "maxPriorityFeePerGas"));
            if (!mf) {
                set_error(c, RPC_DOWNSTREAM, "downstream node: no usable baseFeePerGas in the "
                                             "latest block");
                ok = false;
            } else {
                json_object_set_new(c->stx, "maxFeePerGas", mf);
            }
            break;
        }
        default: break;
        }
    }
    if (ok && fill_next(c)) return; /* another step or the signature is under way */
    finish_call_audit(c->req, c, NULL);
    call_done(c);
}

static bool ask(rpc_call *c, int step, const char *method, json_t *params) {
    c->fill = step;
    tss_result r = gw_down_request(c->req->g, method, params, on_filled, c);
    json_decref(params);
    if (!tss_is_ok(r)) {
        set_error(c, RPC_DOWNSTREAM, "downstream node: %s", tss_error_detail());
        return false;
    }
    return true;
}

/* The next missing field, or sign when none is missing. true: under way. */
static bool fill_next(rpc_call *c) {
    json_t *t = c->stx;
    const char *from = json_string_value(json_object_get(t, "from"));
    if (!json_object_get(t, "nonce"))
        return ask(c, FILL_NONCE, "eth_getTransactionCount", json_pack("[s,s]", from, "pending"));
    if (!json_object_get(t, "gas") && !json_object_get(t, "gasLimit")) {
        json_t *est = json_deep_copy(t);
        return ask(c, FILL_GAS, "eth_estimateGas", json_pack("[o]", est));
    }
    json_t *type = json_object_get(t, "type");
    const char *ts = json_string_value(type);
    bool legacy = json_object_get(t, "gasPrice") || (ts && strcmp(ts, "0x0") == 0) ||
                  (json_is_integer(type) && json_integer_value(type) == 0);
    if (legacy && !json_object_get(t, "gasPrice"))
        return ask(c, FILL_GAS_PRICE, "eth_gasPrice", NULL);
    if (!legacy && !json_object_get(t, "maxPriorityFeePerGas"))
        return ask(c, FILL_PRIORITY, "eth_maxPriorityFeePerGas", NULL);
    if (!legacy && !json_object_get(t, "maxFeePerGas"))
        return ask(c, FILL_BASE_FEE, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    c->fill = FILL_NONE;
    c->submit = true;
    json_t *params = json_pack("[O]", t);
    bool later = m_sign_tx(c, params);
    json_decref(params);
    return later;
}

static bool m_send_tx(rpc_call *c, json_t *params) {
    if (!gw_down_enabled(c->req->g)) {
        set_error(c, RPC_METHOD_NOT_FOUND, "eth_sendTransaction needs a downstream node "
                                           "(config: downstream)");
        return false;
    }
    json_t *t = json_array_get(params, 0);
    if (!json_is_array(params) || json_array_size(params) != 1 || !json_is_object(t)) {
        set_error(c, RPC_INVALID_PARAMS, "eth_sendTransaction expects [transaction object]");
        return false;
    }
    if (!key_for(c, json_string_value(json_object_get(t, "from")))) return false;
    c->stx = json_deep_copy(t);
    if (!c->stx) {
        set_error(c, RPC_INTERNAL, "out of memory");
        return false;
    }
    if (!json_object_get(c->stx, "chainId"))
        json_object_set_new(c->stx, "chainId", json_integer(c->req->g->cfg.chain_id));
    return fill_next(c);
}

static void on_proxied(void *arg, json_t *reply, const char *err) {
    rpc_call *c = arg;
    json_t *res;
    if (take_reply(c, reply, err, &res)) c->result = json_incref(res);
    finish_call_audit(c->req, c, NULL);
    call_done(c);
}

static bool proxy(rpc_call *c, json_t *params) {
    tss_result r = gw_down_request(c->req->g, c->method, params, on_proxied, c);
    if (!tss_is_ok(r)) {
        set_error(c, RPC_DOWNSTREAM, "downstream node: %s", tss_error_detail());
        return false;
    }
    return true;
}

typedef struct {
    const char *name;
    bool (*fn)(rpc_call *c, json_t *params); /* true: signing started, completes later */
    bool public_;                             /* no grant needed */
} method_entry;

static const method_entry methods[] = {
    {"eth_accounts", m_accounts, false},
    {"eth_requestAccounts", m_accounts, false},
    {"eth_chainId", m_chain_id, true},
    {"net_version", m_net_version, true},
    {"eth_sign", m_eth_sign, false},
    {"personal_sign", m_personal_sign, false},
    {"eth_signTransaction", m_sign_tx, false},
    {"eth_signTypedData_v4", m_sign_typed, false},
    {"eth_signTypedData", m_sign_typed, false},
    {"eth_sendTransaction", m_send_tx, false},
    {NULL, NULL, false},
};

static const char *stat_name(const char *method) {
    for (const method_entry *e = methods; e->name; e++)
        if (strcmp(e->name, method) == 0) return e->name;
    if (strcmp(method, "eth1_sign") == 0) return "eth1_sign";
    return method[0] ? "other" : "invalid";
}

/* One call object; returns true when it completes later (signing). */
static bool run_call(rpc_call *c, json_t *o) {
    const gw_client *cl = c->req->client;
    if (!json_is_object(o)) {
        c->id = json_null();
        set_error(c, RPC_INVALID_REQUEST, "invalid request: not a JSON object");
        return false;
    }
    json_t *id = json_object_get(o, "id");
    c->id = id ? json_incref(id) : NULL;
    if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) {
        json_decref(c->id);
        c->id = json_null();
        set_error(c, RPC_INVALID_REQUEST, "invalid request: id must be a string, number or null");
        return false;
    }
    const char *ver = json_string_value(json_object_get(o, "jsonrpc"));
    json_t *m = json_object_get(o, "method"), *params = json_object_get(o, "params");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (strcmp(k, "jsonrpc") && strcmp(k, "id") && strcmp(k, "method") && strcmp(k, "params")) {
            if (!c->id) c->id = json_null();
            set_error(c, RPC_INVALID_REQUEST, "invalid request: unknown member '%.64s'", k);
            return false;
        }
    }
    if (!c->id && (!ver || !json_is_string(m))) c->id = json_null(); /* answer a broken call */
    if (!ver || strcmp(ver, "2.0") != 0) {
        set_error(c, RPC_INVALID_REQUEST, "invalid request: jsonrpc must be \"2.0\"");
        return false;
    }
    if (!json_is_string(m) || json_string_length(m) == 0 || json_string_length(m) >= sizeof c->method) {
        set_error(c, RPC_INVALID_REQUEST, "invalid request: method must be a short string");
        return false;
    }
    snprintf(c->method, sizeof c->method, "%s", json_string_value(m));
    if (params && !json_is_array(params) && !json_is_object(params)) {
        set_error(c, RPC_INVALID_REQUEST, "invalid request: params must be an array or object");
        return false;
    }
    const method_entry *e = methods;
    while (e->name && strcmp(e->name, c->method) != 0) e++;
    if (!e->name && !gw_down_enabled(c->req->g)) {
        set_error(c, RPC_METHOD_NOT_FOUND, "method %.64s is not supported", c->method);
        return false;
    }
    if (!(e->name && e->public_) && !gw_auth_method(cl, c->method)) {
        set_error(c, RPC_NOT_PERMITTED, "method %s is not granted to client %s", c->method,
                  cl->cfg->name);
        return false;
    }
    json_t *none = params ? NULL : json_array();
    bool later = e->name ? e->fn(c, params ? params : none) : proxy(c, params ? params : none);
    json_decref(none);
    return later;
}

static rpc_req *new_req(gw *g, const gw_http_request *hr, gw_http_hold *h, size_t n) {
    rpc_req *rq = calloc(1, sizeof *rq + n * sizeof(rpc_call));
    if (!rq) return NULL;
    rq->g = g;
    rq->h = h;
    rq->client = hr->client;
    rq->n = n;
    if (hr->approvals_len) {
        rq->approvals = malloc(hr->approvals_len);
        if (!rq->approvals) {
            free(rq);
            return NULL;
        }
        memcpy(rq->approvals, hr->approvals, hr->approvals_len);
        rq->approvals_len = hr->approvals_len;
    }
    snprintf(rq->peer, sizeof rq->peer, "%s", hr->peer);
    for (size_t i = 0; i < n; i++) {
        rq->calls[i].req = rq;
        rq->calls[i].audit = json_object();
    }
    return rq;
}

static void run_all(rpc_req *rq, json_t *root) {
    rq->outstanding = rq->n + 1; /* +1 until every call is started */
    for (size_t i = 0; i < rq->n; i++) {
        rpc_call *c = &rq->calls[i];
        bool later = run_call(c, rq->batch ? json_array_get(root, i) : root);
        if (!later) {
            finish_call_audit(rq, c, NULL);
            rq->outstanding--;
        }
    }
    call_done(&rq->calls[0]); /* drops the +1; may answer now */
}

static void audit_refusal(gw *g, const gw_http_request *hr, const char *what, int status,
                          const char *why) {
    json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "client",
                          hr->client ? hr->client->cfg->name : "-", "peer", hr->peer, "method",
                          what, "outcome", "refused", "status", status, "error", why);
    gw_stats_count(g, what, 2);
    gw_audit(g, a, false);
    json_decref(a);
}

static void handle_rpc(gw *g, const gw_http_request *hr, gw_http_hold *h) {
    if (!hr->client) {
        audit_refusal(g, hr, "json-rpc", 401, hr->auth_error);
        respond_json(h, 401, rpc_error_obj(NULL, RPC_NOT_PERMITTED, hr->auth_error));
        return;
    }
    if (json_depth(hr->body, hr->body_len) > (size_t)g->cfg.limits.max_json_depth) {
        respond_json(h, 200, rpc_error_obj(NULL, RPC_PARSE, "parse error: nesting deeper than "
                                                            "limits.max_json_depth"));
        return;
    }
    json_error_t je;
    json_t *root = json_loadb(hr->body, hr->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char msg[300];
        snprintf(msg, sizeof msg, "parse error: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        audit_refusal(g, hr, "json-rpc", 200, msg);
        respond_json(h, 200, rpc_error_obj(NULL, RPC_PARSE, msg));
        return;
    }
    size_t n = 1;
    if (json_is_array(root)) {
        n = json_array_size(root);
        if (n == 0 || n > (size_t)g->cfg.limits.max_batch) {
            char msg[200];
            if (n)
                snprintf(msg, sizeof msg, "invalid request: batch of %zu calls exceeds "
                         "limits.max_batch (%lld)", n, (long long)g->cfg.limits.max_batch);
            else
                snprintf(msg, sizeof msg, "invalid request: empty batch");
            audit_refusal(g, hr, "json-rpc", 200, msg);
            respond_json(h, 200, rpc_error_obj(NULL, RPC_INVALID_REQUEST, msg));
            json_decref(root);
            return;
        }
    }
    rpc_req *rq = new_req(g, hr, h, n);
    if (!rq) {
        respond_json(h, 500, rpc_error_obj(NULL, RPC_INTERNAL, "out of memory"));
        json_decref(root);
        return;
    }
    rq->batch = json_is_array(root);
    run_all(rq, root);
    json_decref(root);
}

/* ---- REST --------------------------------------------------------------------------------- */

static void rest_error(gw *g, const gw_http_request *hr, gw_http_hold *h, const char *what,
                       int status, const char *msg) {
    audit_refusal(g, hr, what, status, msg);
    respond_json(h, status, json_pack("{s:s}", "error", msg));
}

static void rest_sign(gw *g, const gw_http_request *hr, gw_http_hold *h, const char *ident) {
    json_error_t je;
    json_t *body = json_loadb(hr->body, hr->body_len, JSON_REJECT_DUPLICATES, &je);
    const char *data = json_string_value(json_object_get(body, "data"));
    if (!body || !json_is_object(body) || !data || json_object_size(body) != 1) {
        json_decref(body);
        rest_error(g, hr, h, "eth1_sign", 400, "body must be {\"data\": \"0x...\"}");
        return;
    }
    uint8_t *msg;
    size_t n;
    if (!parse_data(data, &msg, &n)) {
        json_decref(body);
        rest_error(g, hr, h, "eth1_sign", 400, "data must be 0x-prefixed hex bytes");
        return;
    }
    json_decref(body);
    const gw_key *k = gw_key_by_identifier(g, ident);
    if (!k || !gw_auth_key(hr->client, k)) {
        free(msg);
        char why[200];
        snprintf(why, sizeof why, "no key %.140s for this client", ident);
        rest_error(g, hr, h, "eth1_sign", 404, why);
        return;
    }
    rpc_req *rq = new_req(g, hr, h, 1);
    if (!rq) {
        free(msg);
        respond_json(h, 500, json_pack("{s:s}", "error", "out of memory"));
        return;
    }
    rq->rest = true;
    rpc_call *c = &rq->calls[0];
    snprintf(c->method, sizeof c->method, "eth1_sign");
    c->id = json_null();
    c->key = *k;
    c->kind = K_REST;
    tss_result r = tss_keccak256(c->digest, msg, n);
    free(msg);
    json_object_set_new(c->audit, "length", json_integer((json_int_t)n));
    rq->outstanding = 1;
    if (!tss_is_ok(r)) set_error(c, RPC_INTERNAL, "keccak failed");
    if (c->error || !start_sign(c)) {
        finish_call_audit(rq, c, NULL);
        call_done(c);
    }
}

static void rest_public_keys(gw *g, const gw_http_request *hr, gw_http_hold *h) {
    json_t *a = json_array();
    for (size_t i = 0; i < g->n_keys; i++)
        if (gw_auth_key(hr->client, &g->keys[i]))
            json_array_append_new(a, json_hex(g->keys[i].unc + 1, 64));
    respond_json(h, 200, a);
}

/* GET /api/v1/tssd/xpubs: each granted key's BIP-32 extended public key
 * (mainnet and testnet forms) for a watch-only wallet (issue 15); keys
 * without a chain code are listed with null. */
static void rest_xpubs(gw *g, const gw_http_request *hr, gw_http_hold *h) {
    json_t *a = json_array();
    for (size_t i = 0; i < g->n_keys; i++) {
        const gw_key *k = &g->keys[i];
        if (k->path.depth || !gw_auth_key(hr->client, k)) continue;
        json_t *o = json_pack("{s:s,s:s}", "keyId", k->info.key_id, "address", k->addr_s);
        tss_point X;
        tss_bip32_node root;
        char x[TSS_BIP32_XPUB_TEXT], t[TSS_BIP32_XPUB_TEXT];
        bool have = k->info.has_chain_code &&
                    tss_is_ok(tss_pt_decode(&X, k->info.public_key, "public key"));
        if (have) {
            tss_bip32_root(&root, &X, k->info.chain_code);
            have = tss_is_ok(tss_bip32_xpub_encode(x, &root, false)) &&
                   tss_is_ok(tss_bip32_xpub_encode(t, &root, true));
        }
        json_object_set_new(o, "xpub", have ? json_string(x) : json_null());
        json_object_set_new(o, "tpub", have ? json_string(t) : json_null());
        json_array_append_new(a, o);
    }
    respond_json(h, 200, a);
}

void gw_api_handle(gw *g, const gw_http_request *hr, gw_http_hold *h) {
    char path[256];
    size_t pl = strcspn(hr->path, "?#");
    if (pl >= sizeof path) {
        rest_error(g, hr, h, "http", 404, "no such path");
        return;
    }
    memcpy(path, hr->path, pl);
    path[pl] = '\0';
    if (strcmp(path, "/upcheck") == 0) { /* liveness only: no authentication */
        gw_http_respond(h, 200, "text/plain", "OK", 2);
        return;
    }
    static const char sign_prefix[] = "/api/v1/eth1/sign/";
    const char *what = strcmp(path, "/") == 0                                ? "json-rpc"
                       : strncmp(path, sign_prefix, sizeof sign_prefix - 1) == 0 ? "eth1_sign"
                       : strcmp(path, "/api/v1/eth1/publicKeys") == 0        ? "eth1_publicKeys"
                       : strcmp(path, "/api/v1/tssd/xpubs") == 0             ? "tssd_xpubs"
                       : strcmp(path, "/healthcheck") == 0                  ? "healthcheck"
                       : strcmp(path, "/metrics") == 0                      ? "metrics"
                                                                            : NULL;
    if (!what) {
        char why[300];
        snprintf(why, sizeof why, "no such path %.200s", path);
        rest_error(g, hr, h, "http", 404, why);
        return;
    }
    bool post = strcmp(what, "json-rpc") == 0 || strcmp(what, "eth1_sign") == 0;
    if (hr->method != (post ? HTTP_POST : HTTP_GET)) {
        rest_error(g, hr, h, what, 405, post ? "use POST" : "use GET");
        return;
    }
    if (strcmp(what, "json-rpc") == 0) {
        handle_rpc(g, hr, h);
        return;
    }
    if (!hr->client) {
        rest_error(g, hr, h, what, 401, hr->auth_error);
        return;
    }
    if (!gw_auth_method(hr->client, what)) {
        char why[200];
        snprintf(why, sizeof why, "%s is not granted to client %s", what, hr->client->cfg->name);
        rest_error(g, hr, h, what, 403, why);
        return;
    }
    if (strcmp(what, "eth1_sign") == 0) {
        rest_sign(g, hr, h, path + sizeof sign_prefix - 1);
    } else if (strcmp(what, "eth1_publicKeys") == 0) {
        rest_public_keys(g, hr, h);
    } else if (strcmp(what, "tssd_xpubs") == 0) {
        rest_xpubs(g, hr, h);
    } else if (strcmp(what, "healthcheck") == 0) {
        int st = 200;
        json_t *j = gw_stats_health(g, &st);
        respond_json(h, st, j);
    } else {
        char *m = gw_stats_metrics(g);
        gw_http_respond(h, m ? 200 : 500, "text/plain; version=0.0.4", m ? m : "", m ? strlen(m) : 0);
        free(m);
    }
}
