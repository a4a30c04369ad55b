/* Storage dispatch (store.h): the file back-end is registry.c and audit.c
 * as before; the postgresql one is store_pg.c. Also --migrate-storage. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/audit.h"
#include "daemon/coordinator/store.h"
#include "daemon/coordinator/store_pg.h"
#include "daemon/keyfile.h"
#include "util/hex.h"
#include "util/log.h"

static bool on_pg(const coord *co) { return co->cfg.storage.backend == TSS_STORAGE_POSTGRESQL; }

tss_result coord_store_open(coord *co) {
    if (on_pg(co)) return coord_pg_open(co, true);
    return coord_registry_load(co);
}

tss_result coord_store_check(coord *co) {
    return on_pg(co) ? coord_pg_check(co) : TSS_OK_RESULT;
}

void coord_store_close(coord *co) {
    coord_pg_close(co);
    coord_registry_free(co);
}

const char *coord_store_unavailable(coord *co) {
    return on_pg(co) ? coord_pg_unavailable(co) : NULL;
}

key_entry *coord_store_key_find(coord *co, const char *key_id) {
    return on_pg(co) ? coord_pg_key_find(co, key_id, false) : coord_registry_find(co, key_id);
}

void coord_store_refresh(coord *co) {
    if (on_pg(co)) coord_pg_refresh(co);
}

key_entry *coord_store_key_sync(coord *co, const char *key_id) {
    return on_pg(co) ? coord_pg_key_find(co, key_id, true) : coord_registry_find(co, key_id);
}

tss_result coord_store_key_add(coord *co, const tss_wire_key_info *info,
                               const uint8_t identities[][32], const uint8_t session_id[16]) {
    if (!on_pg(co)) return coord_registry_add(co, info, identities, session_id);
    tss_keyfile kf;
    memset(&kf, 0, sizeof kf);
    kf.info = *info;
    kf.info.presignatures = 0;
    for (size_t i = 0; i < info->count; i++)
        memcpy(kf.identities[info->parties[i]], identities[info->parties[i]], 32);
    memcpy(kf.session, session_id, sizeof kf.session);
    char *buf = malloc(TSS_KEYFILE_MAX + 1);
    TSS_ENSURE(buf != NULL, TSS_E_NOMEM, "no memory");
    size_t o = 0;
    tss_result r = tss_keyfile_render(&kf, TSS_KEYFILE_VERSION, buf, TSS_KEYFILE_MAX, &o);
    if (tss_is_ok(r)) {
        buf[o] = '\0';
        r = coord_pg_key_add(co, &kf, buf, false);
    }
    free(buf);
    if (tss_is_ok(r))
        tss_log(LOG_NOTICE, "key=%s committed to the database: t=%u n=%u", info->key_id,
                info->threshold, info->count);
    return r;
}

tss_result coord_store_key_update(coord *co, const key_entry *k) {
    if (!on_pg(co)) return coord_registry_save(co, k);
    tss_keyfile kf;
    memset(&kf, 0, sizeof kf);
    kf.info = k->info;
    kf.info.presignatures = 0;
    memcpy(kf.identities, k->identities, sizeof kf.identities);
    memcpy(kf.session, k->session, sizeof kf.session);
    char *buf = malloc(TSS_KEYFILE_MAX + 1);
    TSS_ENSURE(buf != NULL, TSS_E_NOMEM, "no memory");
    size_t o = 0;
    tss_result r = tss_keyfile_render(&kf, TSS_KEYFILE_VERSION, buf, TSS_KEYFILE_MAX, &o);
    if (tss_is_ok(r)) {
        buf[o] = '\0';
        r = coord_pg_key_update(co, k->info.key_id, buf);
    }
    free(buf);
    return r;
}

tss_result coord_store_presig_add(coord *co, key_entry *k,
                                  const uint8_t id[TSS_WIRE_PRESIGN_ID_LEN],
                                  const uint16_t *signers, uint16_t count,
                                  const tss_bip32_path *path) {
    if (!on_pg(co)) return coord_presig_add(co, k, id, signers, count, path);
    coord_presig p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, id, sizeof p.id);
    p.count = count;
    p.path = *path;
    memcpy(p.signers, signers, count * sizeof signers[0]);
    TSS_GUARD(coord_pg_presig_add(co, k, &p));
    return coord_presig_push(k, &p);
}

tss_result coord_store_presig_claim(coord *co, key_entry *k, size_t idx, coord_presig *out) {
    if (!on_pg(co)) return coord_presig_take(co, k, idx, out);
    TSS_ENSURE(idx < k->n_presigs, TSS_E_INTERNAL, "no such presignature");
    *out = k->presigs[idx];
    /* Out of memory whatever happens: claimed here, by another coordinator,
     * or unknown (a broken connection) — never offered again. */
    coord_presig_remove(k, idx);
    return coord_pg_presig_claim(co, k, out);
}

void coord_store_cost_take(coord *co, coord_store_cost *into) {
    unsigned calls = 0;
    uint64_t us = 0;
    if (co->pg) coord_pg_cost_take(co, &calls, &us);
    if (into) {
        into->calls += calls;
        into->us += us;
    }
}

tss_result coord_store_session_id_claim(coord *co, const uint8_t sid[16]) {
    return on_pg(co) ? coord_pg_session_id(co, sid) : TSS_OK_RESULT;
}

/* ---- --migrate-storage ----------------------------------------------------------------------- */

static tss_result read_small(const char *path, char **out, size_t *len, size_t max) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        *out = NULL;
        *len = 0;
        return TSS_OK_RESULT;
    }
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    size_t n = 0;
    tss_result r = buf ? TSS_OK_RESULT : tss_fail(TSS_E_NOMEM, "no memory");
    while (tss_is_ok(r) && n < max) {
        ssize_t got = read(fd, buf + n, max - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) r = tss_fail(TSS_E_IO, "%s: read: %s", path, strerror(errno));
        if (got <= 0) break;
        n += (size_t)got;
    }
    close(fd);
    if (tss_is_ok(r) && n == max) r = tss_fail(TSS_E_TOO_LARGE, "%s: too large", path);
    if (!tss_is_ok(r)) {
        free(buf);
        return r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return TSS_OK_RESULT;
}

/* One key: its file, its ready presignatures, and the used ones (every id a
 * "+" line recorded that is no longer available). The record was verified
 * (sums, torn tail) when the registry loaded it. */
static tss_result migrate_key(coord *co, key_entry *k, size_t *ready, size_t *used) {
    char path[4400];
    snprintf(path, sizeof path, "%s/keys/%s.json", co->cfg.state_dir, k->info.key_id);
    char *text = NULL;
    size_t len = 0;
    TSS_GUARD(read_small(path, &text, &len, TSS_KEYFILE_MAX));
    TSS_ENSURE(text != NULL, TSS_E_NOT_FOUND, "%s: missing", path);
    tss_keyfile kf;
    unsigned version = 0;
    tss_result r = tss_keyfile_parse(text, len, k->info.key_id, &kf, &version);
    size_t o = 0;
    if (tss_is_ok(r)) r = tss_keyfile_render(&kf, TSS_KEYFILE_VERSION, text, TSS_KEYFILE_MAX, &o);
    if (tss_is_ok(r)) {
        text[o] = '\0';
        r = coord_pg_key_add(co, &kf, text, true);
    }
    free(text);
    TSS_GUARD(r);
    for (size_t i = 0; i < k->n_presigs; i++) {
        TSS_GUARD(coord_pg_presig_import(co, k->info.key_id, &k->presigs[i], false));
        (*ready)++;
    }
    snprintf(path, sizeof path, "%s/presig/%s.log", co->cfg.state_dir, k->info.key_id);
    TSS_GUARD(read_small(path, &text, &len, TSS_PRECORD_MAX));
    for (char *line = text, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        if (line[0] != '+' || line[1] != ' ') continue;
        char *tok[6];
        size_t nt = 0;
        for (char *save = NULL, *t = strtok_r(line, " ", &save); t && nt < 6;
             t = strtok_r(NULL, " ", &save))
            tok[nt++] = t;
        if (nt != 4 && nt != 5) continue;
        coord_presig p;
        memset(&p, 0, sizeof p);
        if (!tss_is_ok(tss_hex_decode(p.id, sizeof p.id, tok[1], "id"))) continue;
        bool avail = false;
        for (size_t i = 0; i < k->n_presigs && !avail; i++)
            avail = memcmp(k->presigs[i].id, p.id, sizeof p.id) == 0;
        if (avail) continue;
        for (char *s = tok[2]; *s && p.count < TSS_WIRE_MAX_PARTIES;) {
            p.signers[p.count++] = (uint16_t)strtoul(s, &s, 10);
            if (*s == ',') s++;
            else break;
        }
        if (nt == 5 && !tss_is_ok(tss_bip32_path_parse(&p.path, tok[3]))) continue;
        r = coord_pg_presig_import(co, k->info.key_id, &p, true);
        if (!tss_is_ok(r)) break;
        (*used)++;
    }
    free(text);
    return r;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The audit history: the chain is verified first, then every line becomes
 * a row (source "audit/<file>:<line>", its hash kept in chain_hash). */
static tss_result migrate_audit(coord *co, size_t *records) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/audit", co->cfg.state_dir);
    DIR *d = opendir(dir);
    if (!d && errno == ENOENT) return TSS_OK_RESULT;
    TSS_ENSURE(d != NULL, TSS_E_IO, "%s: %s", dir, strerror(errno));
    tss_audit_chain chain;
    tss_audit_chain_init(&chain);
    char bad[4400] = "";
    size_t bad_line = 0;
    tss_result r = tss_audit_verify_dir(&chain, dir, bad, sizeof bad, &bad_line);
    if (!tss_is_ok(r)) {
        closedir(d);
        char dt[500];
        snprintf(dt, sizeof dt, "%s", tss_error_detail());
        return tss_fail(r.err, "audit log %s line %zu does not verify (%s): not migrated", bad,
                        bad_line, dt);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; tss_is_ok(r) && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "audit-", 6) != 0 || l < 5 || strcmp(e->d_name + l - 4, ".log"))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                r = tss_fail(TSS_E_NOMEM, "no memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) r = tss_fail(TSS_E_NOMEM, "no memory");
        else n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; tss_is_ok(r) && i < n; i++) {
        char path[8400], *text = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        r = read_small(path, &text, &len, 1u << 30);
        size_t lineno = 0;
        for (char *line = text, *nl; tss_is_ok(r) && line && (nl = strchr(line, '\n'));
             line = nl + 1) {
            char src[600];
            snprintf(src, sizeof src, "audit/%s:%zu", names[i], ++lineno);
            r = coord_pg_audit_import(co, line, (size_t)(nl - line), src);
            if (tss_is_ok(r)) (*records)++;
        }
        free(text);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return r;
}

tss_result coord_store_migrate(coord *co) {
    TSS_ENSURE(on_pg(co), TSS_E_CONFIG,
               "--migrate-storage copies the files under state_dir into the database: set "
               "storage.backend: postgresql (and storage.conninfo) in the config");
    TSS_GUARD(coord_registry_load(co));
    const char *damaged = coord_registry_first_damaged(co);
    TSS_ENSURE(damaged == NULL, TSS_E_CORRUPT, "key %s is damaged (%s): repair it before migrating",
               damaged, damaged ? coord_registry_damaged(co, damaged) : "");
    /* The file registry is in co->keys; the database's keys are not loaded. */
    TSS_GUARD(coord_pg_open(co, false));
    size_t keys = 0, ready = 0, used = 0, records = 0;
    tss_result r = coord_pg_begin(co);
    for (key_entry *k = co->keys; tss_is_ok(r) && k; k = k->next) {
        r = migrate_key(co, k, &ready, &used);
        if (tss_is_ok(r)) keys++;
        else {
            char d[600];
            snprintf(d, sizeof d, "%s", tss_error_detail());
            r = tss_fail(r.err, "key %s: %s", k->info.key_id, d);
        }
    }
    if (tss_is_ok(r)) r = migrate_audit(co, &records);
    if (tss_is_ok(r)) r = coord_pg_commit(co);
    else coord_pg_rollback(co);
    TSS_GUARD(r);
    tss_log(LOG_NOTICE,
            "migrate-storage: %zu key(s), %zu ready and %zu used presignature(s), %zu audit "
            "record(s) copied from %s into the database",
            keys, ready, used, records, co->cfg.state_dir);
    printf("migrated %zu key(s), %zu ready + %zu used presignature(s), %zu audit record(s)\n",
           keys, ready, used, records);
    return TSS_OK_RESULT;
}
