/* Cache of decoded key shares; see share_cache.h for the validity rule. */
#include "keystore/share_cache.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keystore/atomic_file.h"
#include "keystore/share_store.h"

typedef struct {
    bool used;
    char key_id[TSS_KEY_ID_MAX + 1];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime; /* ctime: no one can set it, cp -p cannot fake it */
    uint64_t last_use;
    tss_keyshare *share; /* secret memory */
} entry;

struct tss_share_cache {
    size_t cap;
    entry *e;
    uint64_t clock;
    size_t hits, misses;
};

tss_result tss_share_cache_new(size_t cap, tss_share_cache **out) {
    TSS_ENSURE(cap >= 1 && cap <= 4096, TSS_E_USAGE, "share cache size %zu out of range 1..4096", cap);
    tss_share_cache *c = calloc(1, sizeof *c);
    TSS_ENSURE(c != NULL, TSS_E_NOMEM, "no memory for the share cache");
    c->e = calloc(cap, sizeof *c->e);
    if (!c->e) {
        free(c);
        return tss_fail(TSS_E_NOMEM, "no memory for the share cache");
    }
    c->cap = cap;
    *out = c;
    return TSS_OK_RESULT;
}

static void drop(entry *e) {
    tss_keyshare_free(e->share); /* secret memory: wiped on free */
    memset(e, 0, sizeof *e);
}

void tss_share_cache_free(tss_share_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < c->cap; i++)
        if (c->e[i].used) drop(&c->e[i]);
    free(c->e);
    free(c);
}

void tss_share_cache_forget(tss_share_cache *c, const char *key_id) {
    if (!c) return;
    for (size_t i = 0; i < c->cap; i++)
        if (c->e[i].used && strcmp(c->e[i].key_id, key_id) == 0) drop(&c->e[i]);
}

void tss_share_cache_stats(const tss_share_cache *c, size_t *hits, size_t *misses) {
    *hits = c->hits;
    *misses = c->misses;
}

static tss_result clone_share(const tss_keyshare *src, tss_keyshare **out) {
    tss_keyshare *ks;
    TSS_GUARD(tss_keyshare_new(&ks, src->n));
    tss_keyshare_peer *peers = ks->peers;
    memcpy(ks, src, sizeof *ks);
    ks->peers = peers;
    memcpy(ks->peers, src->peers, src->n * sizeof *src->peers);
    *out = ks;
    return TSS_OK_RESULT;
}

static bool same_time(struct timespec a, struct timespec b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool same_file(const entry *e, const struct stat *st) {
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           same_time(e->mtime, st->st_mtim) && same_time(e->ctime, st->st_ctim);
}

static bool same_stat(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           same_time(a->st_mtim, b->st_mtim) && same_time(a->st_ctim, b->st_ctim);
}

tss_result tss_share_cache_load(tss_share_cache *c, const tss_store_ctx *ctx, const char *key_id,
                                tss_keyshare **out) {
    TSS_GUARD(tss_store_key_id_check(key_id));
    char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
    TSS_GUARD(tss_store_path(dir, sizeof dir, ctx->state_dir, TSS_STORE_KEYS_DIR, NULL));
    /* The same permission checks as every load (cheap stats). */
    TSS_GUARD(tss_dir_check_private(ctx->state_dir));
    TSS_GUARD(tss_dir_check_private(dir));
    int n = snprintf(path, sizeof path, "%s/%s%s", dir, key_id, TSS_STORE_SHARE_SUFFIX);
    TSS_ENSURE(n > 0 && (size_t)n < sizeof path, TSS_E_USAGE, "share path too long");
    struct stat before;
    if (stat(path, &before) != 0) {
        /* Gone (or unreadable): forget it, and let the store report why. */
        for (size_t i = 0; i < c->cap; i++)
            if (c->e[i].used && strcmp(c->e[i].key_id, key_id) == 0) drop(&c->e[i]);
        c->misses++;
        return tss_share_load(ctx, key_id, out);
    }
    entry *hit = NULL, *slot = NULL;
    for (size_t i = 0; i < c->cap && !hit; i++) {
        entry *e = &c->e[i];
        if (e->used && strcmp(e->key_id, key_id) == 0) {
            if (same_file(e, &before)) hit = e;
            else drop(e); /* replaced on disk: stale */
        }
    }
    if (hit) {
        TSS_GUARD(clone_share(hit->share, out));
        hit->last_use = ++c->clock;
        c->hits++;
        return TSS_OK_RESULT;
    }
    c->misses++;
    tss_keyshare *fresh;
    TSS_GUARD(tss_share_load(ctx, key_id, &fresh));
    /* Cache it only if the file did not change while we read it. */
    struct stat after;
    tss_keyshare *keep = NULL;
    if (stat(path, &after) == 0 && same_stat(&before, &after) && tss_is_ok(clone_share(fresh, &keep))) {
        for (size_t i = 0; i < c->cap && !slot; i++)
            if (!c->e[i].used) slot = &c->e[i];
        if (!slot) { /* evict the least recently used */
            slot = &c->e[0];
            for (size_t i = 1; i < c->cap; i++)
                if (c->e[i].last_use < slot->last_use) slot = &c->e[i];
            drop(slot);
        }
        slot->used = true;
        snprintf(slot->key_id, sizeof slot->key_id, "%s", key_id);
        slot->dev = after.st_dev;
        slot->ino = after.st_ino;
        slot->size = after.st_size;
        slot->mtime = after.st_mtim;
        slot->ctime = after.st_ctim;
        slot->last_use = ++c->clock;
        slot->share = keep;
    }
    *out = fresh;
    return TSS_OK_RESULT;
}
