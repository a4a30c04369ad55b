/* tss-gateway: the application-facing signing endpoint (docs/API.md).
 *
 * One event loop (daemon/loop.h) serves HTTP/1.1 over TLS 1.3 (or plain HTTP
 * on loopback) to applications and keeps one mutual-TLS operator connection
 * to the coordinator, over which it multiplexes OP_REQUESTs by request id.
 * The gateway holds no key material and no protocol state: it authenticates
 * and authorises the application, turns a JSON-RPC or REST request into a
 * 32-byte digest, has the coordinator sign it, verifies the signature
 * against the key before answering, and audits the request.
 *
 * Modules: main.c (startup, listeners, signals), http.c (connections, HTTP
 * parsing with libhttp-parser, limits), api.c (routing, JSON-RPC and REST
 * with jansson), upstream.c (the coordinator link and key cache), auth.c
 * (clients, tokens, grants), stats.c (metrics, health). */
#ifndef TSS_DAEMON_GATEWAY_GW_H
#define TSS_DAEMON_GATEWAY_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/gateway.h"
#include "daemon/audit.h"
#include "daemon/conn.h"
#include "daemon/loop.h"
#include "daemon/net.h"
#include "eth/address.h"
#include "tls/context.h"
#include "wire/msg.h"

#define PROG "tss-gateway"

typedef struct gw gw;
typedef struct gw_conn gw_conn;

/* ---- clients and grants (auth.c) ------------------------------------------------------ */

typedef struct {
    const tss_gateway_client_config *cfg;
    uint8_t token_hash[TSS_GATEWAY_MAX_TOKENS][32];
    size_t n_tokens;
    bool all_keys, all_methods;
    size_t conns; /* authenticated connections now open */
} gw_client;

/* The client a bearer token names (constant-time over every stored hash), or NULL. */
const gw_client *gw_auth_token(const gw *g, const char *token, size_t len);
/* The client a certificate identity urn:tssd:client:<name> names, if it may use certificates. */
const gw_client *gw_auth_cert_name(const gw *g, const char *name);
bool gw_auth_method(const gw_client *c, const char *method);
struct gw_key;
bool gw_auth_key(const gw_client *c, const struct gw_key *k);
TSS_MUST_CHECK tss_result gw_auth_init(gw *g);

/* ---- the coordinator link and key cache (upstream.c) ---------------------------------- */

typedef struct gw_key {
    tss_wire_key_info info;
    uint8_t unc[65]; /* 0x04 || X || Y */
    uint8_t addr[TSS_ETH_ADDRESS_LEN];
    char addr_s[TSS_ETH_ADDRESS_STR_SIZE]; /* EIP-55 */
    tss_bip32_path path; /* depth 0: the key itself; else a derived account (unc, addr: the child) */
} gw_key;

/* resp is NULL when no answer came: err says why (coordinator unreachable,
 * timed out). resp->status != 0 is the coordinator's refusal. */
typedef void (*gw_up_done)(void *arg, const tss_wire_op_response *resp, const char *err);
typedef struct gw_up_call gw_up_call;

TSS_MUST_CHECK tss_result gw_up_start(gw *g);
void gw_up_stop(gw *g);
/* Send rq (its request_id is assigned here); fn runs exactly once, later,
 * unless gw_up_cancel is called first. */
TSS_MUST_CHECK tss_result gw_up_request(gw *g, tss_wire_op_request *rq, gw_up_done fn, void *arg,
                                        gw_up_call **out);
void gw_up_cancel(gw *g, gw_up_call *c);
bool gw_up_connected(const gw *g);
/* Key lookups in the cache (refreshed from the coordinator every few seconds). */
const gw_key *gw_key_by_address(const gw *g, const uint8_t addr[TSS_ETH_ADDRESS_LEN]);
/* key id, 0x address, or 0x + 128 hex public key X||Y (Web3Signer's identifier). */
const gw_key *gw_key_by_identifier(const gw *g, const char *ident);

/* ---- the downstream node (downstream.c) ----------------------------------------------- */

/* reply: the node's JSON-RPC answer object (borrowed), or NULL with err. */
typedef void (*gw_down_done)(void *arg, json_t *reply, const char *err);
typedef struct gw_down_call gw_down_call;
TSS_MUST_CHECK tss_result gw_down_init(gw *g);
bool gw_down_enabled(const gw *g);
/* One call; fn runs exactly once, later. params is borrowed (NULL: []). */
TSS_MUST_CHECK tss_result gw_down_request(gw *g, const char *method, json_t *params,
                                          gw_down_done fn, void *arg);

/* ---- metrics (stats.c) ------------------------------------------------------------------ */

#define GW_LAT_BUCKETS 12
typedef struct {
    char method[40];
    uint64_t ok, error, refused;
} gw_method_stat;

typedef struct {
    gw_method_stat methods[48];
    size_t n_methods;
    uint64_t lat_full[GW_LAT_BUCKETS + 1], lat_pre[GW_LAT_BUCKETS + 1];
    double lat_full_sum, lat_pre_sum;
    uint64_t http_requests, http_4xx, http_5xx, conns_total, conns_refused, auth_failures;
    uint64_t sign_in_flight;
} gw_stats;

void gw_stats_count(gw *g, const char *method, int outcome /* 0 ok, 1 error, 2 refused */);
void gw_stats_latency(gw *g, bool presigned, double seconds);
/* Prometheus text and the health JSON. */
char *gw_stats_metrics(gw *g);
json_t *gw_stats_health(gw *g, int *http_status);

/* ---- the daemon ----------------------------------------------------------------------- */

typedef struct {
    gw *g;
    int fd;
    bool plain;
    tss_watch watch;
} gw_listener;

struct gw {
    tss_gateway_config cfg;
    tss_loop *loop;
    tss_tls_ctx *https;    /* application listener */
    tss_tls_ctx *operator; /* the coordinator link */
    gw_client *clients;
    size_t n_clients;
    gw_listener listeners[TSS_NET_MAX_LISTEN * 2];
    size_t n_listen;
    gw_conn *conns;
    size_t n_conns;
    bool stopping;
    tss_audit *audit;
    tss_timer audit_timer;
    gw_stats stats;
    int64_t started_ms;
    /* upstream */
    struct gw_up *up;
    gw_key *keys;
    size_t n_keys;
    int64_t keys_ms; /* when the cache was last refreshed (0: never) */
    tss_wire_status *status; /* last STATUS_RESPONSE, or NULL */
};

/* ---- HTTP connections (http.c) ------------------------------------------------------ */

void gw_http_accept(void *arg, uint32_t events);
/* Serve a connected, non-blocking socket (accept, and the HTTP fuzz target). */
void gw_http_adopt(gw *g, int fd, bool plain, const char *addr);
void gw_http_close_all(gw *g, const char *reason);

/* A request as the router sees it. */
typedef struct {
    gw_conn *conn;
    const gw_client *client; /* NULL: unauthenticated */
    const char *auth_error;  /* why client is NULL (for the 401 text) */
    int method;              /* http_parser's HTTP_GET, HTTP_POST, ... */
    const char *path;
    const char *body;
    size_t body_len;
    /* Tssd-Approval headers as one approval list (policy/approval.h); NULL: none. */
    const uint8_t *approvals;
    size_t approvals_len;
    const char *peer;        /* "addr:port" */
} gw_http_request;

/* Answer the request in flight on conn (exactly once; the connection may be
 * gone by then: pass the handle gw_http_hold returned). */
typedef struct gw_http_hold gw_http_hold;
gw_http_hold *gw_http_hold_new(gw_conn *conn);
bool gw_http_hold_alive(const gw_http_hold *h);
void gw_http_respond(gw_http_hold *h, int status, const char *content_type, const char *body,
                     size_t len);

/* ---- routing and the APIs (api.c) --------------------------------------------------- */

/* Handle one complete request; answers through gw_http_respond on h, now or later. */
void gw_api_handle(gw *g, const gw_http_request *rq, gw_http_hold *h);

/* Audit one request (api.c): body is a JSON object, audited as one record. */
void gw_audit(gw *g, json_t *record, bool durable);

#endif
