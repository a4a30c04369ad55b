/* The context holder: the current generation behind a mutex. Reload builds
 * and validates a complete new generation before taking the lock, so a bad
 * set never replaces a good one, and swapping is a pointer exchange.
 * Connections hold their own reference (see tls/conn.c): the old wolfSSL
 * context is freed only when the holder and its last connection let go. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tls/internal.h"
#include "util/log.h"

struct tss_tls_ctx {
    pthread_mutex_t lock;
    tss_tls_gen *current;
    unsigned long generation;
};

static void log_generation(const char *what, const tss_tls_gen *g) {
    char urn[TSS_TLS_URN_MAX];
    tss_tls_identity_format(&g->own.identity, urn, sizeof urn);
    long days = tss_tls_cert_days_left(&g->own, time(NULL));
    /* The expiry warning policy (from 30 days) belongs to the daemon. */
    tss_log(LOG_INFO,
            "tls: %s certificate identity=%s sha256=%s serial=%s notAfter=%s days_left=%ld", what,
            urn, g->own.fingerprint, g->own.serial_hex, g->own.not_after_iso, days);
}

tss_result tss_tls_ctx_new(const tss_tls_config *cfg, const tss_tls_paths *paths,
                           tss_tls_ctx **out) {
    tss_tls_gen *g;
    tss_result r = tss_tls_gen_build(cfg, paths, &g);
    if (!tss_is_ok(r)) {
        tss_log_result(LOG_ERR, r, "tls: cannot load TLS credentials");
        return r;
    }
    tss_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        tss_tls_gen_unref(g);
        return tss_fail(TSS_E_NOMEM, "no memory for a TLS context holder");
    }
    pthread_mutex_init(&ctx->lock, NULL);
    g->number = ctx->generation = 1;
    ctx->current = g;
    log_generation("loaded", g);
    *out = ctx;
    return TSS_OK_RESULT;
}

tss_result tss_tls_ctx_reload(tss_tls_ctx *ctx, const tss_tls_paths *paths) {
    tss_tls_gen *old = tss_tls_ctx_acquire(ctx);
    tss_tls_gen *g;
    tss_result r = tss_tls_gen_build(&old->cfg, paths, &g);
    tss_tls_gen_unref(old);
    if (!tss_is_ok(r)) {
        tss_log_result(LOG_ERR, r, "tls: reload failed, keeping the certificate in service");
        return r;
    }
    pthread_mutex_lock(&ctx->lock);
    old = ctx->current;
    g->number = ++ctx->generation;
    ctx->current = g;
    pthread_mutex_unlock(&ctx->lock);
    log_generation("reloaded", g);
    tss_tls_gen_unref(old);
    return TSS_OK_RESULT;
}

tss_tls_gen *tss_tls_ctx_acquire(tss_tls_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    tss_tls_gen *g = tss_tls_gen_ref(ctx->current);
    pthread_mutex_unlock(&ctx->lock);
    return g;
}

void tss_tls_ctx_free(tss_tls_ctx *ctx) {
    if (!ctx) return;
    tss_tls_gen_unref(ctx->current);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

void tss_tls_ctx_cert_info(tss_tls_ctx *ctx, tss_tls_cert_info *out) {
    tss_tls_gen *g = tss_tls_ctx_acquire(ctx);
    *out = g->own;
    tss_tls_gen_unref(g);
}

unsigned long tss_tls_ctx_generation(tss_tls_ctx *ctx) {
    pthread_mutex_lock(&ctx->lock);
    unsigned long n = ctx->generation;
    pthread_mutex_unlock(&ctx->lock);
    return n;
}
