/* Metrics (Prometheus text format 0.0.4) and the health document. Counters
 * live in the gateway; parties, presignature stock and certificate expiry
 * come from the coordinator's STATUS and KEYS answers (refreshed every 2 s). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "daemon/gateway/gw.h"

/* Upper bounds of the latency histogram buckets, seconds. */
static const double bounds[GW_LAT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10,  30};

void gw_stats_count(gw *g, const char *method, int outcome) {
    gw_stats *s = &g->stats;
    const size_t cap = sizeof s->methods / sizeof s->methods[0];
    size_t i = 0;
    while (i < s->n_methods && strcmp(s->methods[i].method, method) != 0) i++;
    if (i == s->n_methods) {
        /* The last row is kept for "other", so the table can never overflow. */
        if (s->n_methods >= cap - 1) method = "other";
        for (i = 0; i < s->n_methods && strcmp(s->methods[i].method, method) != 0; i++) {}
        if (i == s->n_methods) {
            if (s->n_methods == cap) return;
            snprintf(s->methods[i].method, sizeof s->methods[i].method, "%s", method);
            s->n_methods++;
        }
    }
    if (outcome == 0) s->methods[i].ok++;
    else if (outcome == 1) s->methods[i].error++;
    else s->methods[i].refused++;
}

void gw_stats_latency(gw *g, bool presigned, double sec) {
    uint64_t *h = presigned ? g->stats.lat_pre : g->stats.lat_full;
    size_t b = 0;
    while (b < GW_LAT_BUCKETS && sec > bounds[b]) b++;
    h[b]++;
    if (presigned) g->stats.lat_pre_sum += sec;
    else g->stats.lat_full_sum += sec;
}

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) { b->failed = true; return; }
        if ((size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
        size_t cap = b->cap * 2 + (size_t)n;
        char *nb = realloc(b->buf, cap);
        if (!nb) { b->failed = true; return; }
        b->buf = nb;
        b->cap = cap;
    }
}

static void histogram(sbuf *b, const char *mode, const uint64_t *h, double sum) {
    uint64_t acc = 0;
    for (size_t i = 0; i < GW_LAT_BUCKETS; i++) {
        acc += h[i];
        put(b, "tssd_gateway_sign_seconds_bucket{mode=\"%s\",le=\"%g\"} %llu\n", mode, bounds[i],
            (unsigned long long)acc);
    }
    acc += h[GW_LAT_BUCKETS];
    put(b, "tssd_gateway_sign_seconds_bucket{mode=\"%s\",le=\"+Inf\"} %llu\n", mode,
        (unsigned long long)acc);
    put(b, "tssd_gateway_sign_seconds_sum{mode=\"%s\"} %.6f\n", mode, sum);
    put(b, "tssd_gateway_sign_seconds_count{mode=\"%s\"} %llu\n", mode, (unsigned long long)acc);
}

static unsigned parties_connected(const gw *g) {
    unsigned n = 0;
    if (g->status)
        for (size_t i = 0; i < g->status->party_count; i++)
            n += (g->status->parties[i].flags & TSS_WIRE_STATUS_CONNECTED) != 0;
    return n;
}

static bool party_connected(const gw *g, unsigned id) {
    if (!g->status) return false;
    for (size_t i = 0; i < g->status->party_count; i++)
        if (g->status->parties[i].party_id == id)
            return (g->status->parties[i].flags & TSS_WIRE_STATUS_CONNECTED) != 0;
    return false;
}

static unsigned key_quorum(const gw *g, const gw_key *k) {
    unsigned n = 0;
    for (size_t i = 0; i < k->info.count; i++) n += party_connected(g, k->info.parties[i]);
    return n;
}

char *gw_stats_metrics(gw *g) {
    sbuf b = {malloc(8192), 0, 8192, false};
    if (!b.buf) return NULL;
    const gw_stats *s = &g->stats;
    put(&b, "# HELP tssd_gateway_requests_total Requests by method and outcome.\n"
            "# TYPE tssd_gateway_requests_total counter\n");
    for (size_t i = 0; i < s->n_methods; i++) {
        put(&b, "tssd_gateway_requests_total{method=\"%s\",outcome=\"ok\"} %llu\n",
            s->methods[i].method, (unsigned long long)s->methods[i].ok);
        put(&b, "tssd_gateway_requests_total{method=\"%s\",outcome=\"error\"} %llu\n",
            s->methods[i].method, (unsigned long long)s->methods[i].error);
        put(&b, "tssd_gateway_requests_total{method=\"%s\",outcome=\"refused\"} %llu\n",
            s->methods[i].method, (unsigned long long)s->methods[i].refused);
    }
    put(&b, "# HELP tssd_gateway_sign_seconds Signing latency seen by the gateway.\n"
            "# TYPE tssd_gateway_sign_seconds histogram\n");
    histogram(&b, "full", s->lat_full, s->lat_full_sum);
    histogram(&b, "presigned", s->lat_pre, s->lat_pre_sum);
    put(&b, "# TYPE tssd_gateway_http_responses_total counter\n"
            "tssd_gateway_http_responses_total %llu\n"
            "tssd_gateway_http_responses_total{class=\"4xx\"} %llu\n"
            "tssd_gateway_http_responses_total{class=\"5xx\"} %llu\n",
        (unsigned long long)s->http_requests, (unsigned long long)s->http_4xx,
        (unsigned long long)s->http_5xx);
    put(&b, "# TYPE tssd_gateway_connections_total counter\ntssd_gateway_connections_total %llu\n"
            "# TYPE tssd_gateway_connections_refused_total counter\n"
            "tssd_gateway_connections_refused_total %llu\n"
            "# TYPE tssd_gateway_auth_failures_total counter\n"
            "tssd_gateway_auth_failures_total %llu\n"
            "# TYPE tssd_gateway_connections gauge\ntssd_gateway_connections %zu\n"
            "# TYPE tssd_gateway_sessions_in_flight gauge\ntssd_gateway_sessions_in_flight %llu\n",
        (unsigned long long)s->conns_total, (unsigned long long)s->conns_refused,
        (unsigned long long)s->auth_failures, g->n_conns, (unsigned long long)s->sign_in_flight);
    put(&b, "# TYPE tssd_gateway_coordinator_connected gauge\n"
            "tssd_gateway_coordinator_connected %d\n"
            "# TYPE tssd_parties_connected gauge\ntssd_parties_connected %u\n",
        gw_up_connected(g) ? 1 : 0, parties_connected(g));
    put(&b, "# TYPE tssd_presignatures gauge\n");
    for (size_t i = 0; i < g->n_keys; i++)
        if (!g->keys[i].path.depth) /* derived accounts repeat their key */
            put(&b, "tssd_presignatures{key=\"%s\"} %u\n", g->keys[i].info.key_id,
                g->keys[i].info.presignatures);
    put(&b, "# TYPE tssd_cert_expiry_seconds gauge\n");
    time_t now = time(NULL);
    tss_tls_cert_info ci;
    tss_tls_ctx_cert_info(g->https, &ci);
    put(&b, "tssd_cert_expiry_seconds{cert=\"https\"} %lld\n", (long long)(ci.not_after - now));
    tss_tls_ctx_cert_info(g->operator, &ci);
    put(&b, "tssd_cert_expiry_seconds{cert=\"operator\"} %lld\n", (long long)(ci.not_after - now));
    if (g->status) {
        put(&b, "tssd_cert_expiry_seconds{cert=\"coordinator\"} %lld\n",
            (long long)g->status->cert_not_after - (long long)now);
        for (size_t i = 0; i < g->status->party_count; i++)
            if (g->status->parties[i].cert_not_after)
                put(&b, "tssd_cert_expiry_seconds{cert=\"party\",party=\"%u\"} %lld\n",
                    g->status->parties[i].party_id,
                    (long long)g->status->parties[i].cert_not_after - (long long)now);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    put(&b, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.3f\n"
            "# TYPE process_max_resident_memory_bytes gauge\n"
            "process_max_resident_memory_bytes %lld\n"
            "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n",
        (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
        (long long)ru.ru_maxrss * 1024, (double)g->started_ms / 1000.0);
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

json_t *gw_stats_health(gw *g, int *http_status) {
    json_t *keys = json_array();
    bool all = gw_up_connected(g) && g->status;
    for (size_t i = 0; i < g->n_keys; i++) {
        const gw_key *k = &g->keys[i];
        if (k->path.depth) continue; /* derived accounts repeat their key */
        unsigned up = key_quorum(g, k);
        bool q = gw_up_connected(g) && up >= k->info.threshold;
        all = all && q;
        json_array_append_new(keys, json_pack("{s:s,s:s,s:i,s:i,s:b,s:i}", "keyId",
                                              k->info.key_id, "address", k->addr_s, "threshold",
                                              k->info.threshold, "partiesConnected", up,
                                              "quorumAvailable", q, "presignatures",
                                              (int)k->info.presignatures));
    }
    time_t now = time(NULL);
    tss_tls_cert_info https, op;
    tss_tls_ctx_cert_info(g->https, &https);
    tss_tls_ctx_cert_info(g->operator, &op);
    json_t *j = json_pack("{s:s,s:b,s:i,s:o,s:{s:s,s:I,s:s,s:I}}", "status",
                          all ? "UP" : "DOWN", "coordinatorConnected", gw_up_connected(g),
                          "partiesConnected", (int)parties_connected(g), "keys", keys,
                          "certificates", "https", https.not_after_iso, "httpsSecondsLeft",
                          (json_int_t)(https.not_after - now), "operator", op.not_after_iso,
                          "operatorSecondsLeft", (json_int_t)(op.not_after - now));
    *http_status = all ? 200 : 503;
    return j;
}
