/* tssctl status: the coordinator's view of the parties. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/tssctl/tssctl.h"
#include "config/operator.h"
#include "daemon/client.h"
#include "keystore/derive.h"
#include "tls/certinfo.h"
#include "tls/context.h"
#include "util/hex.h"
#include "util/log.h"
#include "wire/msg.h"

static void iso_ms(uint64_t ms, char *out, size_t cap) {
    if (ms == 0) {
        snprintf(out, cap, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void ago(uint64_t now, uint64_t then, char *out, size_t cap) {
    if (then == 0) snprintf(out, cap, "never");
    else if (then >= now) snprintf(out, cap, "just now");
    else {
        uint64_t s = (now - then) / 1000;
        if (s < 120) snprintf(out, cap, "%llus ago", (unsigned long long)s);
        else if (s < 7200) snprintf(out, cap, "%llum ago", (unsigned long long)(s / 60));
        else snprintf(out, cap, "%lluh ago", (unsigned long long)(s / 3600));
    }
}

/* What party `peer` reports as its own identity, or NULL if not known. */
static const uint8_t *reported_identity(const tss_wire_status *st, uint16_t peer) {
    for (size_t i = 0; i < st->party_count; i++)
        if (st->parties[i].party_id == peer && (st->parties[i].flags & TSS_WIRE_STATUS_KNOWN))
            return st->parties[i].identity_key;
    return NULL;
}

/* 1 the pin equals the peer's reported identity, 0 it differs, -1 unknown. */
static int pin_matches(const tss_wire_status *st, const tss_wire_pin *pin) {
    const uint8_t *own = reported_identity(st, pin->party_id);
    if (!own) return -1;
    return memcmp(own, pin->identity_key, TSS_WIRE_IDENTITY_KEY_LEN) == 0;
}

/* Each party's pins of its peers, checked against what each peer reports:
 * a mismatched pin (every session with that peer would abort) is found here
 * in one command. */
static void print_pins_text(const tss_wire_status *st) {
    bool header = false;
    for (size_t i = 0; i < st->party_count; i++) {
        const tss_wire_status_party *e = &st->parties[i];
        if (!e->pin_count) continue;
        if (!header) printf("\nPINS (each party's pinned peer identities, checked against the peers' own)\n");
        header = true;
        printf("party %u:", e->party_id);
        for (size_t k = 0; k < e->pin_count; k++) {
            int m = pin_matches(st, &e->pins[k]);
            printf(" %u=%s", e->pins[k].party_id, m == 1 ? "ok" : m == 0 ? "MISMATCH" : "unknown");
        }
        printf("\n");
        for (size_t k = 0; k < e->pin_count; k++)
            if (pin_matches(st, &e->pins[k]) == 0) {
                char pinned[TSS_IDENTITY_TEXT_LEN], own[TSS_IDENTITY_TEXT_LEN];
                tss_identity_format(e->pins[k].identity_key, pinned);
                tss_identity_format(reported_identity(st, e->pins[k].party_id), own);
                printf("  party %u pins party %u as %s, but party %u reports %s: fix the pin in "
                       "party %u's configuration (or check party %u's keystore)\n",
                       e->party_id, e->pins[k].party_id, pinned, e->pins[k].party_id, own,
                       e->party_id, e->pins[k].party_id);
            }
    }
}

/* The keys and their presignature stock (a KEYS request on the same
 * connection); NULL when the coordinator did not answer it. */
static void print_keys_text(const tss_wire_op_response *keys) {
    if (!keys) {
        printf("keys: not available (below)\n");
        return;
    }
    printf("%-40s %-9s %s\n", "KEY", "QUORUM", "PRESIGNATURES");
    for (size_t i = 0; i < keys->key_count; i++) {
        char q[16];
        snprintf(q, sizeof q, "%u-of-%u", keys->keys[i].threshold, keys->keys[i].count);
        printf("%-40s %-9s %u\n", keys->keys[i].key_id, q, keys->keys[i].presignatures);
    }
}

static void print_keys_json(const tss_wire_op_response *keys) {
    printf(",\"keys\":");
    if (!keys) {
        printf("null");
        return;
    }
    printf("[");
    for (size_t i = 0; i < keys->key_count; i++) {
        printf("%s{\"keyId\":", i ? "," : "");
        tssctl_json_str(stdout, keys->keys[i].key_id);
        printf(",\"threshold\":%u,\"parties\":%u,\"presignatures\":%u}",
               keys->keys[i].threshold, keys->keys[i].count, keys->keys[i].presignatures);
    }
    printf("]");
}

static void print_text(const tss_wire_status *st, const tss_tls_cert_info *seen) {
    char fp[65], na[32], started[32];
    tss_hex_encode(fp, st->cert_fingerprint, sizeof st->cert_fingerprint);
    iso_ms(st->cert_not_after * 1000, na, sizeof na);
    iso_ms(st->started_ms, started, sizeof started);
    printf("coordinator: %s, up since %s, %u connection(s), TLS generation %u\n", st->software,
           started, st->connections, st->tls_generation);
    printf("coordinator certificate: sha256=%s notAfter=%s\n", fp, na);
    printf("this connection's certificate: sha256=%s\n", seen->fingerprint);
    printf("%-5s %-12s %-52s %-7s %-20s %-20s %-10s %s\n", "PARTY", "STATE", "IDENTITY",
           "VERSION", "SOFTWARE", "CERT_NOT_AFTER", "HEARTBEAT", "ADDRESS");
    for (size_t i = 0; i < st->party_count; i++) {
        const tss_wire_status_party *e = &st->parties[i];
        bool known = e->flags & TSS_WIRE_STATUS_KNOWN;
        const char *state = (e->flags & TSS_WIRE_STATUS_CONNECTED) ? "connected"
                            : known                                ? "disconnected"
                                                                   : "never-seen";
        char ident[TSS_IDENTITY_TEXT_LEN] = "-", cna[32] = "-", hb[32] = "-", ver[8] = "-";
        if (known) {
            tss_identity_format(e->identity_key, ident);
            iso_ms(e->cert_not_after * 1000, cna, sizeof cna);
            ago(st->now_ms, e->last_heartbeat_ms, hb, sizeof hb);
            snprintf(ver, sizeof ver, "%u", e->protocol_version);
        }
        printf("%-5u %-12s %-52s %-7s %-20s %-20s %-10s %s\n", e->party_id, state, ident, ver,
               known ? e->software : "-", cna, hb, known && e->address[0] ? e->address : "-");
    }
    print_pins_text(st);
}

static void json_time(const char *key, uint64_t ms, bool comma) {
    char buf[32];
    printf("\"%s\":", key);
    if (ms == 0) printf("null");
    else {
        iso_ms(ms, buf, sizeof buf);
        printf("\"%s\"", buf);
    }
    if (comma) printf(",");
}

static void print_json(const tss_wire_status *st, const tss_tls_cert_info *seen) {
    char fp[65];
    tss_hex_encode(fp, st->cert_fingerprint, sizeof st->cert_fingerprint);
    printf("{\"coordinator\":{\"software\":");
    tssctl_json_str(stdout, st->software);
    printf(",\"certSha256\":\"%s\",", fp);
    json_time("certNotAfter", st->cert_not_after * 1000, true);
    printf("\"connectionCertSha256\":\"%s\",\"tlsGeneration\":%u,\"connections\":%u,",
           seen->fingerprint, st->tls_generation, st->connections);
    json_time("started", st->started_ms, true);
    json_time("now", st->now_ms, false);
    printf("},\"parties\":[");
    for (size_t i = 0; i < st->party_count; i++) {
        const tss_wire_status_party *e = &st->parties[i];
        bool known = e->flags & TSS_WIRE_STATUS_KNOWN;
        printf("%s{\"id\":%u,\"connected\":%s,\"certificateIdentity\":\"urn:tssd:party:%u\"",
               i ? "," : "", e->party_id, (e->flags & TSS_WIRE_STATUS_CONNECTED) ? "true" : "false",
               e->party_id);
        if (known) {
            char ident[TSS_IDENTITY_TEXT_LEN], cfp[65];
            tss_identity_format(e->identity_key, ident);
            tss_hex_encode(cfp, e->cert_fingerprint, sizeof e->cert_fingerprint);
            printf(",\"identity\":\"%s\",\"protocolVersion\":%u,\"software\":", ident,
                   e->protocol_version);
            tssctl_json_str(stdout, e->software);
            printf(",\"certSha256\":\"%s\",", cfp);
            json_time("certNotAfter", e->cert_not_after * 1000, true);
            json_time("since", e->since_ms, true);
            json_time("lastHeartbeat", e->last_heartbeat_ms, true);
            if (e->last_heartbeat_ms && e->last_heartbeat_ms <= st->now_ms)
                printf("\"lastHeartbeatAgeMs\":%llu,",
                       (unsigned long long)(st->now_ms - e->last_heartbeat_ms));
            else
                printf("\"lastHeartbeatAgeMs\":null,");
            printf("\"address\":");
            tssctl_json_str(stdout, e->address);
            printf(",\"pins\":[");
            for (size_t k = 0; k < e->pin_count; k++) {
                char pinned[TSS_IDENTITY_TEXT_LEN];
                tss_identity_format(e->pins[k].identity_key, pinned);
                int m = pin_matches(st, &e->pins[k]);
                printf("%s{\"id\":%u,\"identity\":\"%s\",\"matches\":%s}", k ? "," : "",
                       e->pins[k].party_id, pinned, m == 1 ? "true" : m == 0 ? "false" : "null");
            }
            printf("]");
        } else {
            printf(",\"identity\":null");
        }
        printf("}");
    }
    printf("]");
}

tss_result tssctl_operator_ctx(const tss_operator_config *cfg, tss_tls_ctx **out) {
    tss_tls_cert_info info;
    TSS_GUARD(tss_tls_cert_info_from_file(cfg->tls.cert, &info));
    char urn[TSS_TLS_URN_MAX];
    tss_tls_identity_format(&info.identity, urn, sizeof urn);
    TSS_ENSURE(info.identity.role == TSS_TLS_ROLE_OPERATOR, TSS_E_CONFIG,
               "certificate %s is for %s; tssctl needs an operator certificate "
               "(urn:tssd:operator:<name>)", cfg->tls.cert,
               info.identity.role == TSS_TLS_ROLE_NONE ? "no tssd identity" : urn);
    tss_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.side = TSS_TLS_CLIENT;
    tc.self = info.identity;
    tss_tls_policy_init(&tc.peers);
    tc.peers.coordinator = true;
    tss_tls_paths paths = {cfg->tls.cert, cfg->tls.key, cfg->tls.ca, cfg->tls.crl};
    return tss_tls_ctx_new(&tc, &paths, out);
}

tss_result tssctl_request(const tss_operator_config *cfg, uint8_t type, const uint8_t *payload,
                          size_t len, uint8_t want, tss_tls_ctx **ctx, tss_client **cl,
                          tss_wire_frame *reply) {
    *ctx = NULL;
    *cl = NULL;
    TSS_GUARD(tssctl_operator_ctx(cfg, ctx));
    TSS_GUARD(tss_client_connect(*ctx, cfg->coordinator.address, cfg->coordinator.address_count,
                                 (uint32_t)cfg->max_frame_size, (int)cfg->timeouts.connect, cl));
    tss_result r = tss_client_send(*cl, type, payload, len, (int)cfg->timeouts.request);
    if (tss_is_ok(r)) r = tss_client_recv(*cl, reply, (int)cfg->timeouts.request);
    if (!tss_is_ok(r) && (strstr(tss_error_detail(), "closed by the peer") ||
                          strstr(tss_error_detail(), "alert: bad_certificate"))) {
        /* In TLS 1.3 the server checks our certificate after our side of the
         * handshake is done, so its refusal shows up as a closed connection
         * on the first read: say what that most likely means. */
        tss_tls_cert_info info;
        char urn[TSS_TLS_URN_MAX] = "?";
        if (tss_is_ok(tss_tls_cert_info_from_file(cfg->tls.cert, &info)))
            tss_tls_identity_format(&info.identity, urn, sizeof urn);
        return tss_fail(TSS_E_PROTOCOL,
                        "the coordinator closed the connection without answering: it most likely "
                        "refused this operator certificate (identity %s, %s). Check that the "
                        "identity is listed under operators: in the coordinator's configuration, "
                        "and that the certificate chains to its CA and is neither expired nor "
                        "revoked; the coordinator's log names the reason (\"TLS handshake "
                        "refused: ...\")",
                        urn, cfg->tls.cert);
    }
    TSS_GUARD(r);
    if (reply->type == TSS_WIRE_ERROR) {
        tss_wire_error e;
        if (!tss_is_ok(tss_wire_error_decode(&e, reply->payload, reply->len)))
            return tss_fail(TSS_E_PROTOCOL, "coordinator sent a malformed ERROR");
        const char *code = tss_wire_error_code_name(e.code);
        return tss_fail(TSS_E_PROTOCOL, "coordinator refused: %s (%s)", e.text, code ? code : "?");
    }
    TSS_ENSURE(reply->type == want, TSS_E_PROTOCOL, "coordinator answered %s instead of %s",
               tss_wire_type_name(reply->type), tss_wire_type_name(want));
    return TSS_OK_RESULT;
}

static tss_result keys_request(const tss_operator_config *cfg, tss_client *cl,
                               tss_wire_op_response *out) {
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.request_id = 1;
    rq.command = TSS_WIRE_OP_KEYS;
    tss_writer w;
    tss_writer_init(&w, 4096);
    tss_result r = tss_wire_op_request_encode(&w, &rq);
    if (tss_is_ok(r))
        r = tss_client_send(cl, TSS_WIRE_OP_REQUEST, w.data, w.len, (int)cfg->timeouts.request);
    tss_writer_free(&w);
    tss_wire_frame f;
    if (tss_is_ok(r)) r = tss_client_recv(cl, &f, (int)cfg->timeouts.request);
    TSS_GUARD(r);
    TSS_ENSURE(f.type == TSS_WIRE_OP_RESPONSE, TSS_E_PROTOCOL, "coordinator answered %s to KEYS",
               tss_wire_type_name(f.type));
    TSS_GUARD(tss_wire_op_response_decode(out, f.payload, f.len));
    if (out->status != 0 || out->command != TSS_WIRE_OP_KEYS) {
        tss_result e = tss_fail(TSS_E_PROTOCOL, "keys refused: %s", out->text);
        tss_wire_op_response_free(out);
        return e;
    }
    return TSS_OK_RESULT;
}

static tss_result run(const tss_operator_config *cfg, bool json) {
    tss_tls_ctx *ctx;
    tss_client *cl;
    tss_wire_frame f;
    tss_writer w;
    tss_writer_init(&w, 64);
    tss_result r = tss_wire_status_request_encode(&w);
    if (tss_is_ok(r))
        r = tssctl_request(cfg, TSS_WIRE_STATUS_REQUEST, w.data, w.len, TSS_WIRE_STATUS_RESPONSE,
                           &ctx, &cl, &f);
    tss_writer_free(&w);
    if (tss_is_ok(r)) {
        tss_wire_status *st = calloc(1, sizeof *st);
        r = st ? tss_wire_status_decode(st, f.payload, f.len)
               : tss_fail(TSS_E_NOMEM, "no memory");
        if (tss_is_ok(r)) {
            /* The stock per key (the presignature pool) on the same connection. */
            tss_wire_op_response keys;
            memset(&keys, 0, sizeof keys);
            tss_result kr = keys_request(cfg, cl, &keys);
            bool have_keys = tss_is_ok(kr);
            if (json) {
                print_json(st, tss_client_server_cert(cl));
                print_keys_json(have_keys ? &keys : NULL);
                printf("}\n");
            } else {
                print_text(st, tss_client_server_cert(cl));
                print_keys_text(have_keys ? &keys : NULL);
            }
            if (have_keys) tss_wire_op_response_free(&keys);
            /* What was shown stays shown; the command still fails (e.g. 76
             * when the KEYS half was refused by the operator's rate limit). */
            else r = kr;
        }
        free(st);
    }
    tss_client_free(cl);
    tss_tls_ctx_free(ctx);
    return r;
}

int tssctl_status(const char *config, int argc, char **argv) {
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else return tssctl_usage_error("status: unknown argument '%s'", argv[i]);
    }
    /* Library diagnostics (e.g. the TLS module's refusal lines) only when debugging. */
    tss_log_set_level(getenv("TSSCTL_DEBUG") ? LOG_DEBUG : LOG_CRIT);
    tss_operator_config cfg;
    memset(&cfg, 0, sizeof cfg);
    tss_result r = tss_config_operator_load_file(&cfg, config);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    r = run(&cfg, json);
    tss_config_operator_free(&cfg);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    fflush(stdout);
    return 0;
}
