/* Fuzz the gateway's request dispatch (daemon/gateway/api.c): JSON-RPC on
 * "/" (single, batch, every method), and the eth1 REST sign route, with an
 * authenticated client granted everything, one key in the cache, and a
 * coordinator that answers each signing request with a refusal or not at
 * all. Invariants: every request is answered exactly once, with a
 * well-formed JSON body (or the REST text signature form), never a crash,
 * leak or hang; the input's first byte picks the route. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <secp256k1.h>

#include "daemon/gateway/api.c"
#include "daemon/gateway/auth.c"
#include "daemon/gateway/stats.c"

static void die(const char *why) {
    fprintf(stderr, "fuzz_gateway_rpc: %s\n", why);
    abort();
}

/* ---- the parts of http.c and upstream.c that api.c calls ---------------------------- */

struct gw_http_hold {
    int answered;
};
static int answers;
static gw_http_hold *hold_now;

gw_http_hold *gw_http_hold_new(gw_conn *c) {
    (void)c;
    return calloc(1, sizeof(gw_http_hold));
}
bool gw_http_hold_alive(const gw_http_hold *h) { return h != NULL; }
void gw_http_respond(gw_http_hold *h, int status, const char *ctype, const char *body, size_t len) {
    if (h != hold_now) die("answer for an unknown request");
    answers++;
    if (status < 200 || status > 599) die("bad status");
    if (strcmp(ctype, "application/json") == 0 && len) {
        json_error_t e;
        json_t *j = json_loadb(body, len, JSON_DECODE_ANY, &e);
        if (!j) die("answer is not JSON");
        json_decref(j);
    }
    free(h);
}

struct gw_up_call {
    gw_up_done fn;
    void *arg;
    struct gw_up_call *next;
};
static struct gw_up_call *pending;
static bool refuse_mode;

tss_result gw_up_request(gw *g, tss_wire_op_request *rq, gw_up_done fn, void *arg,
                         gw_up_call **out) {
    (void)g;
    if (rq->command != TSS_WIRE_OP_SIGN) die("unexpected command");
    struct gw_up_call *c = calloc(1, sizeof *c);
    if (!c) return tss_fail(TSS_E_NOMEM, "no memory");
    c->fn = fn;
    c->arg = arg;
    c->next = pending;
    pending = c;
    if (out) *out = c;
    return TSS_OK_RESULT;
}
void gw_up_cancel(gw *g, gw_up_call *c) {
    (void)g;
    (void)c;
}
bool gw_up_connected(const gw *g) {
    (void)g;
    return false;
}

/* A downstream node that never answers usefully: every call fails later. */
static bool down_on;
typedef struct down_pending {
    gw_down_done fn;
    void *arg;
    struct down_pending *next;
} down_pending;
static down_pending *downs;
bool gw_down_enabled(const gw *g) {
    (void)g;
    return down_on;
}
tss_result gw_down_request(gw *g, const char *method, json_t *params, gw_down_done fn, void *arg) {
    (void)g;
    (void)method;
    (void)params;
    down_pending *d = calloc(1, sizeof *d);
    if (!d) return tss_fail(TSS_E_NOMEM, "no memory");
    d->fn = fn;
    d->arg = arg;
    d->next = downs;
    downs = d;
    return TSS_OK_RESULT;
}

static gw_key key;
const gw_key *gw_key_by_address(const gw *g, const uint8_t addr[TSS_ETH_ADDRESS_LEN]) {
    (void)g;
    return memcmp(addr, key.addr, TSS_ETH_ADDRESS_LEN) == 0 ? &key : NULL;
}
const gw_key *gw_key_by_identifier(const gw *g, const char *ident) {
    (void)g;
    if (strcmp(ident, "k") == 0) return &key;
    uint8_t a[TSS_ETH_ADDRESS_LEN];
    if (strlen(ident) == 42 && tss_is_ok(tss_eth_address_parse(a, ident, NULL)))
        return gw_key_by_address(g, a);
    return NULL;
}

/* ---- set-up --------------------------------------------------------------------------- */

static gw G;

static void setup(void) {
    static const char yaml[] =
        "listen: [127.0.0.1:1]\n"
        "tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"
        "coordinator: {address: [127.0.0.1:2], tls: {cert: /o.pem, key: /ok.pem, ca: /ca.pem}}\n"
        "chain_id: 1\n"
        "clients:\n  - {name: fuzz, keys: [\"*\"], methods: [\"*\"]}\n"
        "limits: {max_batch: 8, max_json_depth: 16}\n";
    if (!tss_is_ok(tss_config_gateway_load_buffer(&G.cfg, "fuzz.yaml", yaml, sizeof yaml - 1)) ||
        !tss_is_ok(gw_auth_init(&G)))
        die("setup");
    /* The key of private key 1 (the generator). */
    static const char g_hex[] = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    if (!tss_is_ok(tss_hex_decode(key.info.public_key, 33, g_hex, "G"))) die("G");
    secp256k1_pubkey p;
    size_t len = 65;
    if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, &p, key.info.public_key, 33))
        die("parse G");
    (void)secp256k1_ec_pubkey_serialize(secp256k1_context_static, key.unc, &len, &p,
                                        SECP256K1_EC_UNCOMPRESSED);
    if (!tss_is_ok(tss_eth_address_from_pubkey(key.addr, key.unc, 65)) ||
        !tss_is_ok(tss_eth_address_to_string(key.addr_s, key.addr)))
        die("address");
    snprintf(key.info.key_id, sizeof key.info.key_id, "k");
    key.info.threshold = 2;
    key.info.count = 3;
    G.keys = &key;
    G.n_keys = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool init;
    if (!init) {
        setup();
        init = true;
    }
    if (size < 1) return 0;
    uint8_t sel = data[0];
    char *body = malloc(size); /* NUL-terminated copy of the rest */
    if (!body) return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    gw_http_request rq;
    memset(&rq, 0, sizeof rq);
    rq.client = (sel & 4) ? NULL : &G.clients[0];
    rq.auth_error = "fuzz: no credentials";
    rq.method = (sel & 8) ? HTTP_GET : HTTP_POST;
    char path[64];
    switch (sel & 3) {
    case 0: snprintf(path, sizeof path, "/"); break;
    case 1: snprintf(path, sizeof path, "/api/v1/eth1/sign/k"); break;
    case 2: snprintf(path, sizeof path, "/api/v1/eth1/sign/%s", key.addr_s); break;
    default: snprintf(path, sizeof path, "/?x=1"); break;
    }
    rq.path = path;
    rq.body = body;
    rq.body_len = size - 1;
    rq.peer = "fuzz";
    refuse_mode = (sel & 16) != 0;
    down_on = (sel & 32) != 0;
    answers = 0;
    hold_now = gw_http_hold_new(NULL);
    gw_api_handle(&G, &rq, hold_now);
    /* The coordinator answers: a refusal, or nothing (unreachable). */
    while (pending) {
        struct gw_up_call *c = pending;
        pending = c->next;
        if (refuse_mode) {
            tss_wire_op_response resp;
            memset(&resp, 0, sizeof resp);
            resp.command = TSS_WIRE_OP_SIGN;
            resp.status = TSS_WIRE_ERR_PROTOCOL;
            snprintf(resp.text, sizeof resp.text, "fuzz refusal");
            c->fn(c->arg, &resp, NULL);
        } else {
            c->fn(c->arg, NULL, "fuzz: coordinator unreachable");
        }
        free(c);
    }
    /* The node answers each call with an error object, or not at all. */
    while (downs) {
        down_pending *d = downs;
        downs = d->next;
        if (sel & 64) {
            json_t *reply = json_pack("{s:s,s:i,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", 1, "error",
                                      "code", -32000, "message", "fuzz node error");
            d->fn(d->arg, reply, NULL);
            json_decref(reply);
        } else {
            d->fn(d->arg, NULL, "fuzz: node unreachable");
        }
        free(d);
    }
    if (answers != 1) die("a request was not answered exactly once");
    free(body);
    return 0;
}
