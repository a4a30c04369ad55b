/* The coordinator's presignature pool driver; the why is in pool.h and
 * daemon/pool_policy.h. */
#include "daemon/coordinator/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/coordinator/admission.h"
#include "daemon/coordinator/store.h"
#include "daemon/pool_policy.h"
#include "util/log.h"

#define POOL_MIN_GAP_MS 10       /* kicks closer than this are merged */
#define POOL_RETIRE_PER_TICK 64  /* durable "-" records per key and tick */
#define POOL_BACKOFF_MIN_MS 1000
#define POOL_BACKOFF_MAX_MS 60000

typedef struct {
    char key_id[TSS_WIRE_MAX_KEY_ID + 1];
    tss_pool_params params;
    uint16_t signers[TSS_WIRE_MAX_PARTIES]; /* fixed set, ascending (count 0: chosen) */
    uint16_t signer_count;
    tss_pool_key_state st;
    uint32_t running;
    int64_t backoff_until;
    uint32_t backoff_ms;
    uint64_t failures; /* refills failed in a row */
    bool warned; /* the last "cannot refill" reason was logged */
    bool seen;   /* the key is in the registry (this tick) */
} pool_key;

struct coord_pool {
    coord *co;
    tss_timer timer;
    int64_t started, last_eval;
    tss_bucket bucket;
    pool_key *keys;
    size_t n_keys, cap_keys;
    uint32_t running_all;
};

static int cmp_u16(const void *a, const void *b) {
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The configured pool of key_id: its entry in pool.keys, else the defaults. */
static void params_for(const tss_coordinator_pool_config *c, const char *key_id, pool_key *pk) {
    memset(&pk->params, 0, sizeof pk->params);
    pk->signer_count = 0;
    for (size_t i = 0; i < c->key_count; i++) {
        const tss_coordinator_pool_key *e = &c->keys[i];
        if (strcmp(e->key, key_id) != 0) continue;
        pk->params = (tss_pool_params){(uint32_t)e->target, (uint32_t)e->low, (uint32_t)e->high,
                                       e->max_age};
        for (size_t j = 0; j < e->signer_count; j++) pk->signers[j] = (uint16_t)e->signers[j];
        pk->signer_count = (uint16_t)e->signer_count;
        qsort(pk->signers, pk->signer_count, sizeof pk->signers[0], cmp_u16);
        pk->params.high = tss_pool_high(&pk->params);
        return;
    }
    pk->params = (tss_pool_params){(uint32_t)c->target, (uint32_t)c->low, (uint32_t)c->high,
                                   c->max_age};
    pk->params.high = tss_pool_high(&pk->params);
}

static pool_key *find_key(struct coord_pool *pl, const char *key_id) {
    for (size_t i = 0; i < pl->n_keys; i++)
        if (strcmp(pl->keys[i].key_id, key_id) == 0) return &pl->keys[i];
    return NULL;
}

static pool_key *get_key(struct coord_pool *pl, const char *key_id) {
    pool_key *pk = find_key(pl, key_id);
    if (pk) return pk;
    if (pl->n_keys == pl->cap_keys) {
        size_t cap = pl->cap_keys ? 2 * pl->cap_keys : 8;
        pool_key *n = realloc(pl->keys, cap * sizeof *n);
        if (!n) return NULL;
        pl->keys = n;
        pl->cap_keys = cap;
    }
    pk = &pl->keys[pl->n_keys++];
    memset(pk, 0, sizeof *pk);
    snprintf(pk->key_id, sizeof pk->key_id, "%s", key_id);
    params_for(&pl->co->cfg.pool, key_id, pk);
    return pk;
}

static bool all_online(coord *co, const uint16_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!coord_party_available(co, ids[i])) return false;
    return true;
}

/* Stock of the key itself (depth 0) whose signers are online, and all stock. */
static void count_stock(coord *co, const key_entry *k, pool_key *pk) {
    uint32_t usable = 0;
    for (size_t i = 0; i < k->n_presigs; i++) {
        const coord_presig *p = &k->presigs[i];
        if (p->path.depth == 0 && all_online(co, p->signers, p->count)) usable++;
    }
    pk->st.usable = usable;
    pk->st.total = (uint32_t)k->n_presigs;
    pk->st.running = pk->running;
}

/* Ask every connected holder of k to list its presignatures again. */
static void relist(coord *co, const key_entry *k) {
    tss_writer w;
    tss_writer_init(&w, 256);
    tss_result r = tss_wire_presig_relist_encode(&w, k->info.key_id);
    for (size_t i = 0; tss_is_ok(r) && i < k->info.count; i++) {
        unsigned id = k->info.parties[i];
        peer *p = co->parties[id].conn;
        if (!p || !p->hello || !tss_dconn_is_open(p->conn)) continue;
        if (!tss_is_ok(tss_dconn_send(p->conn, TSS_WIRE_PRESIG_RELIST, w.data, w.len)))
            tss_log(LOG_WARNING, "party=%u key=%s: cannot send PRESIG_RELIST: %s", id,
                    k->info.key_id, tss_error_detail());
    }
    tss_writer_free(&w);
}

/* Retire k's expired presignatures (the whole list is scanned: rows another
 * coordinator recorded can interleave, so made_ms need not ascend); returns
 * when the next one expires. */
static int64_t retire(coord *co, key_entry *k, pool_key *pk, int64_t now) {
    size_t n = 0;
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < k->n_presigs;) {
        if (!tss_pool_expired(&pk->params, k->presigs[i].made_ms, now)) {
            int64_t e = tss_pool_expiry(&pk->params, k->presigs[i].made_ms);
            if (e < next) next = e;
            i++;
            continue;
        }
        if (n == POOL_RETIRE_PER_TICK) { /* more next tick */
            next = now + POOL_MIN_GAP_MS;
            break;
        }
        coord_presig p;
        /* Through the store: durable before anything else, on either back-end;
         * removed from memory (index i now holds the next one) whatever happens. */
        tss_result r = coord_store_presig_claim(co, k, i, &p);
        if (r.err == TSS_E_NOT_FOUND) continue; /* claimed meanwhile (another coordinator) */
        if (!tss_is_ok(r)) {
            tss_log(LOG_ERR, "key=%s: cannot retire a presignature: %s", k->info.key_id,
                    tss_error_detail());
            break;
        }
        n++;
    }
    if (n) {
        tss_log(LOG_NOTICE,
                "key=%s: %zu presignature(s) older than pool max_age retired (%zu left); asking "
                "the parties to delete them",
                k->info.key_id, n, k->n_presigs);
        relist(co, k);
    }
    return next;
}

/* Whether a refill can run now (the signers it needs are online); logs the
 * reason once per change. */
static bool can_refill(coord *co, const key_entry *k, pool_key *pk, bool quiet) {
    const char *why = NULL;
    if (pk->signer_count) {
        if (pk->signer_count != k->info.threshold)
            why = "pool signers do not name threshold-many parties";
        else if (!all_online(co, pk->signers, pk->signer_count))
            why = "a party of the configured pool signers is not available";
        for (size_t i = 0; !why && i < pk->signer_count; i++) {
            bool holder = false;
            for (size_t j = 0; j < k->info.count; j++)
                holder = holder || k->info.parties[j] == pk->signers[i];
            if (!holder) why = "a party of the configured pool signers holds no share of the key";
        }
    } else {
        size_t online = 0;
        for (size_t i = 0; i < k->info.count; i++)
            online += coord_party_available(co, k->info.parties[i]);
        if (online < k->info.threshold) why = "fewer than threshold parties are available";
    }
    if (why && quiet) return false; /* parties are still connecting after a start */
    if (why && !pk->warned)
        tss_log(LOG_WARNING, "key=%s: presignature pool not refilling: %s", k->info.key_id, why);
    else if (!why && pk->warned)
        tss_log(LOG_NOTICE, "key=%s: presignature pool refilling again", k->info.key_id);
    pk->warned = why != NULL;
    return why == NULL;
}

static void arm(struct coord_pool *pl, int64_t due) {
    if (!tss_is_ok(tss_timer_arm(pl->co->loop, &pl->timer, due)))
        tss_log(LOG_ERR, "presignature pool: cannot arm its timer: %s", tss_error_detail());
}

static void on_timer(void *arg) {
    struct coord_pool *pl = arg;
    coord *co = pl->co;
    if (co->stopping) return;
    int64_t now = tss_now_ms();
    pl->last_eval = now;
    int64_t next = now + (int64_t)co->cfg.pool.interval;
    for (size_t i = 0; i < pl->n_keys; i++) pl->keys[i].seen = false;
    for (key_entry *k = co->keys; k; k = k->next) {
        pool_key *pk = get_key(pl, k->info.key_id);
        if (!pk) break; /* no memory: try again next time */
        pk->seen = true;
        if (k->info.retired) continue; /* issue 17: never signs again, never refilled */
        if (pk->params.target == 0 && pk->params.max_age_ms == 0) continue; /* no pool */
        /* postgresql: the ready stock is re-read at most once a second. */
        (void)coord_store_key_find(co, k->info.key_id);
        if (pk->params.max_age_ms) {
            int64_t t = retire(co, k, pk, now);
            if (t < next) next = t;
        }
        if (pk->params.target == 0) continue;
        count_stock(co, k, pk);
        tss_pool_load load = {
            .running_all = pl->running_all,
            .max_refill = (uint32_t)co->cfg.pool.max_refill,
            .sessions = (uint32_t)co->n_sessions,
            .max_sessions = (uint32_t)co->cfg.limits.max_sessions,
            .queued = (uint32_t)co->queue.n,
        };
        uint32_t want = tss_pool_wanted(&pk->params, &pk->st, &load);
        if (!want || now < pk->backoff_until) {
            if (want && pk->backoff_until < next) next = pk->backoff_until;
            continue;
        }
        bool quiet = now - pl->started <
                     (int64_t)(co->cfg.timeouts.handshake + co->cfg.timeouts.liveness);
        if (!can_refill(co, k, pk, quiet)) continue;
        for (uint32_t j = 0; j < want && now >= pk->backoff_until; j++) {
            uint32_t retry = 0;
            if (!tss_bucket_take(&pl->bucket, (uint32_t)co->cfg.pool.rate,
                                 (uint32_t)co->cfg.pool.rate, now, &retry)) {
                if (now + (int64_t)retry < next) next = now + (int64_t)retry;
                break;
            }
            pk->running++;
            pl->running_all++;
            if (!coord_pool_presign(co, k, pk->signers, pk->signer_count)) {
                /* No room now: a session ending kicks us again. */
                pk->running--;
                pl->running_all--;
                tss_bucket_refund(&pl->bucket, (uint32_t)co->cfg.pool.rate);
                break;
            }
        }
    }
    /* Forget keys that left the registry (none today; cheap to be exact). */
    for (size_t i = 0; i < pl->n_keys;)
        if (!pl->keys[i].seen && pl->keys[i].running == 0) pl->keys[i] = pl->keys[--pl->n_keys];
        else i++;
    arm(pl, next);
}

tss_result coord_pool_start(coord *co) {
    struct coord_pool *pl = calloc(1, sizeof *pl);
    TSS_ENSURE(pl != NULL, TSS_E_NOMEM, "no memory for the presignature pool");
    pl->co = co;
    pl->started = tss_now_ms();
    tss_timer_init(&pl->timer, on_timer, pl);
    co->pool = pl;
    bool any = co->cfg.pool.target > 0 || co->cfg.pool.max_age > 0 || co->cfg.pool.key_count > 0;
    if (any)
        tss_log(LOG_INFO, "presignature pool: default target %lld (low %lld), %zu key entr%s, "
                "rate %lld/s, %lld refill(s) at once",
                (long long)co->cfg.pool.target, (long long)co->cfg.pool.low,
                co->cfg.pool.key_count, co->cfg.pool.key_count == 1 ? "y" : "ies",
                (long long)co->cfg.pool.rate, (long long)co->cfg.pool.max_refill);
    return tss_timer_arm(co->loop, &pl->timer, tss_now_ms());
}

void coord_pool_stop(coord *co) {
    struct coord_pool *pl = co->pool;
    if (!pl) return;
    if (co->loop) tss_timer_kill(co->loop, &pl->timer);
    free(pl->keys);
    free(pl);
    co->pool = NULL;
}

void coord_pool_kick(coord *co) {
    struct coord_pool *pl = co->pool;
    if (!pl || co->stopping) return;
    int64_t due = pl->last_eval + POOL_MIN_GAP_MS, now = tss_now_ms();
    if (due < now) due = now;
    if (pl->timer.armed && pl->timer.due <= due) return;
    arm(pl, due);
}

void coord_pool_refill_done(coord *co, const char *key_id, bool made, bool failed) {
    struct coord_pool *pl = co->pool;
    if (!pl) return;
    if (pl->running_all) pl->running_all--;
    pool_key *pk = find_key(pl, key_id);
    if (pk) {
        if (pk->running) pk->running--;
        if (made) {
            pk->failures = 0;
            pk->backoff_ms = 0;
        } else if (failed) {
            pk->failures++;
            pk->backoff_ms = pk->backoff_ms ? pk->backoff_ms * 2 : POOL_BACKOFF_MIN_MS;
            if (pk->backoff_ms > POOL_BACKOFF_MAX_MS) pk->backoff_ms = POOL_BACKOFF_MAX_MS;
            pk->backoff_until = tss_now_ms() + pk->backoff_ms;
            tss_log(LOG_NOTICE, "key=%s: pool refill failed (%llu in a row); next in %u ms",
                    key_id, (unsigned long long)pk->failures, pk->backoff_ms);
        }
    }
    coord_pool_kick(co);
}
