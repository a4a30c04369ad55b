/* The coordinator's public key registry and presignature record (state_dir).
 *
 *   <state>/keys/<key-id>.json  one file per key, written atomically once,
 *                               when every keygen party reported success:
 *                               id, t, N, parties, public key, Ethereum
 *                               address, the parties' Ed25519 identities
 *                               pinned at keygen (used to verify their final
 *                               signing messages), creation time, session.
 *   (the audit log, <state>/audit/, is audit.c's)
 *   <state>/presig/<key-id>.log the presignatures created for the key and
 *                               which of them have been handed out:
 *                               append-only text, every record fdatasynced
 *                               (docs/PROTOCOL.md "Presigned signing").
 * Nothing here is secret. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/coordinator/coord.h"
#include "eth/address.h"
#include "mpc/point.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/log.h"

#define KEYS_DIR "keys"
#define MAX_KEY_FILE (64 * 1024)
#define PRESIG_DIR "presig"
#define PRESIG_HEADER "# tssd coordinator presignature record v1\n"
#define MAX_PRESIG_LOG (64u * 1024 * 1024)
#define PRESIG_LINE_MAX (2 + 2 * TSS_WIRE_PRESIGN_ID_LEN + 1 + 3 * TSS_WIRE_MAX_PARTIES + 2)

static void iso_time(int64_t ms, char *out, size_t cap) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

key_entry *coord_registry_find(coord *co, const char *key_id) {
    for (key_entry *k = co->keys; k; k = k->next)
        if (strcmp(k->info.key_id, key_id) == 0) return k;
    return NULL;
}

static tss_result presig_load(coord *co, key_entry *k);

static tss_result load_one(coord *co, const char *dir, const char *name) {
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    TSS_ENSURE(f != NULL, TSS_E_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(MAX_KEY_FILE);
    size_t len = buf ? fread(buf, 1, MAX_KEY_FILE, f) : 0;
    fclose(f);
    TSS_ENSURE(buf != NULL, TSS_E_NOMEM, "no memory");
    tss_json_doc *doc = NULL;
    tss_result r = len < MAX_KEY_FILE ? tss_json_parse(&doc, buf, len, NULL)
                                      : tss_fail(TSS_E_TOO_LARGE, "file too large");
    free(buf);
    key_entry *k = calloc(1, sizeof *k);
    if (!k) r = tss_fail(TSS_E_NOMEM, "no memory");
    else k->presig_fd = -1;
    const tss_json_value *root = doc ? tss_json_root(doc) : NULL;
    const char *s;
    size_t sl;
    uint64_t u;
    if (tss_is_ok(r)) r = tss_json_get_string(root, "keyId", &s, &sl);
    if (tss_is_ok(r)) {
        if (sl == 0 || sl > TSS_WIRE_MAX_KEY_ID) r = tss_fail(TSS_E_CORRUPT, "bad keyId");
        else snprintf(k->info.key_id, sizeof k->info.key_id, "%s", s);
    }
    if (tss_is_ok(r)) r = tss_json_get_u64(root, "threshold", &u);
    if (tss_is_ok(r)) k->info.threshold = (uint16_t)(u > 32 ? 0 : u);
    if (tss_is_ok(r)) r = tss_json_get_u64(root, "createdMs", &k->info.created_ms);
    if (tss_is_ok(r)) r = tss_json_get_string(root, "publicKey", &s, &sl);
    if (tss_is_ok(r)) r = tss_hex_decode(k->info.public_key, TSS_WIRE_POINT_LEN, s, "publicKey");
    const tss_json_value *parties = tss_json_get(root, "parties");
    const tss_json_value *ids = tss_json_get(root, "identities");
    if (tss_is_ok(r) && (!parties || parties->type != TSS_JSON_ARRAY ||
                         parties->u.arr.count > TSS_WIRE_MAX_PARTIES || !ids))
        r = tss_fail(TSS_E_CORRUPT, "parties/identities missing");
    for (size_t i = 0; tss_is_ok(r) && i < parties->u.arr.count; i++) {
        r = tss_json_as_u64(tss_json_at(parties, i), &u);
        if (tss_is_ok(r) && (u < 1 || u > 32 || (i && u <= k->info.parties[i - 1])))
            r = tss_fail(TSS_E_CORRUPT, "bad party id");
        if (!tss_is_ok(r)) break;
        k->info.parties[i] = (uint16_t)u;
        k->info.count = (uint16_t)(i + 1);
        char key[8];
        snprintf(key, sizeof key, "%u", (unsigned)u);
        r = tss_json_get_string(ids, key, &s, &sl);
        if (tss_is_ok(r)) r = tss_hex_decode(k->identities[u], 32, s, "identity");
    }
    if (tss_is_ok(r) && (k->info.threshold < 2 || k->info.threshold > k->info.count))
        r = tss_fail(TSS_E_CORRUPT, "bad threshold");
    tss_point X;
    if (tss_is_ok(r)) r = tss_pt_decode(&X, k->info.public_key, "publicKey");
    tss_json_free(doc);
    if (!tss_is_ok(r)) {
        free(k);
        return tss_fail(r.err, "key registry %s: %s", path, tss_error_detail());
    }
    if (coord_registry_find(co, k->info.key_id)) {
        free(k);
        return tss_fail(TSS_E_CORRUPT, "key registry %s: duplicate key id", path);
    }
    r = presig_load(co, k);
    if (!tss_is_ok(r)) {
        free(k);
        return r;
    }
    if (k->n_presigs)
        tss_log(LOG_INFO, "key=%s: %zu presignature(s) available", k->info.key_id, k->n_presigs);
    k->next = co->keys;
    co->keys = k;
    return TSS_OK_RESULT;
}

/* ---- presignature record ---------------------------------------------------------------- */

static void presig_path(const coord *co, const key_entry *k, char *dir, size_t dcap, char *name,
                        size_t ncap) {
    snprintf(dir, dcap, "%s/" PRESIG_DIR, co->cfg.state_dir);
    snprintf(name, ncap, "%s.log", k->info.key_id);
}

static tss_result presig_mkdir(const coord *co, const char *dir) {
    if (mkdir(dir, 0700) == 0) return tss_fsync_dir(co->cfg.state_dir);
    TSS_ENSURE(errno == EEXIST, TSS_E_IO, "cannot create %s: %s", dir, strerror(errno));
    return TSS_OK_RESULT;
}

static tss_result presig_push(key_entry *k, const coord_presig *p) {
    if (k->n_presigs == k->cap_presigs) {
        size_t cap = k->cap_presigs ? 2 * k->cap_presigs : 16;
        coord_presig *n = realloc(k->presigs, cap * sizeof *n);
        TSS_ENSURE(n != NULL, TSS_E_NOMEM, "no memory for presignature records");
        k->presigs = n;
        k->cap_presigs = cap;
    }
    k->presigs[k->n_presigs++] = *p;
    k->info.presignatures = (uint32_t)k->n_presigs;
    return TSS_OK_RESULT;
}

static void presig_remove(key_entry *k, size_t idx) {
    memmove(&k->presigs[idx], &k->presigs[idx + 1], (k->n_presigs - idx - 1) * sizeof k->presigs[0]);
    k->n_presigs--;
    k->info.presignatures = (uint32_t)k->n_presigs;
}

static size_t presig_add_line(char *out, const coord_presig *p) {
    char hex[2 * TSS_WIRE_PRESIGN_ID_LEN + 1];
    tss_hex_encode(hex, p->id, sizeof p->id);
    size_t o = (size_t)snprintf(out, PRESIG_LINE_MAX, "+ %s ", hex);
    for (size_t i = 0; i < p->count; i++)
        o += (size_t)snprintf(out + o, PRESIG_LINE_MAX - o, "%s%u", i ? "," : "", p->signers[i]);
    out[o++] = '\n';
    return o;
}

/* One record line (without its newline): "+ <hex id> <ids>" or "- <hex id>". */
static tss_result presig_parse_line(key_entry *k, const char *line, size_t len, size_t lineno) {
    char buf[PRESIG_LINE_MAX + 1];
    TSS_ENSURE(len >= 2 + 2 * TSS_WIRE_PRESIGN_ID_LEN && len < sizeof buf, TSS_E_CORRUPT,
               "line %zu: malformed record", lineno);
    memcpy(buf, line, len);
    buf[len] = '\0';
    TSS_ENSURE((buf[0] == '+' || buf[0] == '-') && buf[1] == ' ', TSS_E_CORRUPT,
               "line %zu: malformed record", lineno);
    coord_presig p;
    memset(&p, 0, sizeof p);
    char hex[2 * TSS_WIRE_PRESIGN_ID_LEN + 1];
    memcpy(hex, buf + 2, 2 * TSS_WIRE_PRESIGN_ID_LEN);
    hex[2 * TSS_WIRE_PRESIGN_ID_LEN] = '\0';
    tss_result r = tss_hex_decode(p.id, sizeof p.id, hex, "presign id");
    TSS_ENSURE(tss_is_ok(r), TSS_E_CORRUPT, "line %zu: bad presign id", lineno);
    const char *rest = buf + 2 + 2 * TSS_WIRE_PRESIGN_ID_LEN;
    if (buf[0] == '-') {
        TSS_ENSURE(*rest == '\0', TSS_E_CORRUPT, "line %zu: malformed record", lineno);
        for (size_t i = 0; i < k->n_presigs; i++)
            if (memcmp(k->presigs[i].id, p.id, sizeof p.id) == 0) {
                presig_remove(k, i);
                break;
            }
        return TSS_OK_RESULT;
    }
    TSS_ENSURE(*rest == ' ', TSS_E_CORRUPT, "line %zu: malformed record", lineno);
    rest++;
    while (*rest) {
        char *end;
        unsigned long v = strtoul(rest, &end, 10);
        TSS_ENSURE(end != rest && (*end == ',' || *end == '\0') && p.count < k->info.threshold,
                   TSS_E_CORRUPT, "line %zu: bad signer list", lineno);
        bool member = false;
        for (size_t i = 0; i < k->info.count; i++) member = member || k->info.parties[i] == v;
        TSS_ENSURE(member && (p.count == 0 || v > p.signers[p.count - 1]), TSS_E_CORRUPT,
                   "line %zu: signer %lu is not a party of the key (or out of order)", lineno, v);
        p.signers[p.count++] = (uint16_t)v;
        rest = *end ? end + 1 : end;
    }
    TSS_ENSURE(p.count == k->info.threshold, TSS_E_CORRUPT, "line %zu: %u signers for threshold %u",
               lineno, p.count, k->info.threshold);
    for (size_t i = 0; i < k->n_presigs; i++)
        TSS_ENSURE(memcmp(k->presigs[i].id, p.id, sizeof p.id) != 0, TSS_E_CORRUPT,
                   "line %zu: presign id recorded twice", lineno);
    return presig_push(k, &p);
}

/* Load the record of key k if there is one; repair a torn last line (a
 * crash mid-append: that record was never acknowledged); compact when most
 * records are spent. Leaves k->presig_fd open for appends. */
static tss_result presig_load(coord *co, key_entry *k) {
    char dir[4096], name[TSS_WIRE_MAX_KEY_ID + 8], path[4200];
    presig_path(co, k, dir, sizeof dir, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return TSS_OK_RESULT;
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    char *buf = NULL;
    tss_result r = TSS_OK_RESULT;
    if (fstat(fd, &st) != 0) r = tss_fail(TSS_E_IO, "%s: fstat: %s", path, strerror(errno));
    else if ((uint64_t)st.st_size > MAX_PRESIG_LOG) r = tss_fail(TSS_E_TOO_LARGE, "%s: too large", path);
    else if (!(buf = malloc((size_t)st.st_size + 1))) r = tss_fail(TSS_E_NOMEM, "no memory");
    size_t len = 0;
    while (tss_is_ok(r) && len < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) r = tss_fail(TSS_E_IO, "%s: read: %s", path, n < 0 ? strerror(errno) : "short");
        else len += (size_t)n;
    }
    const size_t hl = sizeof PRESIG_HEADER - 1;
    size_t keep = len;
    if (tss_is_ok(r)) {
        while (keep > 0 && buf[keep - 1] != '\n') keep--; /* torn tail */
        if (keep < hl) {
            /* Nothing but (part of) the header: a crash while creating the file. */
            if (len > hl || memcmp(buf, PRESIG_HEADER, len) != 0)
                r = tss_fail(TSS_E_CORRUPT, "%s: not a presignature record", path);
            keep = 0;
        } else if (memcmp(buf, PRESIG_HEADER, hl) != 0) {
            r = tss_fail(TSS_E_CORRUPT, "%s: not a presignature record", path);
        }
    }
    if (tss_is_ok(r) && keep < len) {
        tss_log(LOG_WARNING, "key=%s: dropping a torn record (%zu bytes) at the end of %s",
                k->info.key_id, len - keep, path);
        if (ftruncate(fd, (off_t)keep) != 0 || fdatasync(fd) != 0)
            r = tss_fail(TSS_E_IO, "%s: cannot truncate the torn record: %s", path, strerror(errno));
    }
    if (tss_is_ok(r) && keep == 0) {
        r = tss_write_all(fd, PRESIG_HEADER, hl, path);
        if (tss_is_ok(r) && fdatasync(fd) != 0)
            r = tss_fail(TSS_E_IO, "%s: fdatasync: %s", path, strerror(errno));
    }
    size_t lines = 0;
    for (size_t o = keep ? hl : 0; tss_is_ok(r) && o < keep;) {
        const char *nl = memchr(buf + o, '\n', keep - o);
        r = presig_parse_line(k, buf + o, (size_t)(nl - (buf + o)), lines + 2);
        lines++;
        o = (size_t)(nl - buf) + 1;
    }
    free(buf);
    if (!tss_is_ok(r)) {
        close(fd);
        free(k->presigs);
        k->presigs = NULL;
        k->n_presigs = k->cap_presigs = 0;
        k->info.presignatures = 0;
        char detail[512]; /* tss_fail formats into the detail buffer: copy it first */
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(r.err, "presignature record %s: %s", path, detail);
    }
    k->presig_fd = fd;
    if (lines > 2 * k->n_presigs + 64) { /* compact: keep only the available records */
        size_t cap = hl + k->n_presigs * PRESIG_LINE_MAX, o = hl;
        char *out = malloc(cap);
        TSS_ENSURE(out != NULL, TSS_E_NOMEM, "no memory");
        memcpy(out, PRESIG_HEADER, hl);
        for (size_t i = 0; i < k->n_presigs; i++) o += presig_add_line(out + o, &k->presigs[i]);
        r = tss_file_write_atomic_mode(dir, name, out, o, 0600, true, NULL);
        free(out);
        if (tss_is_ok(r)) {
            close(k->presig_fd);
            k->presig_fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
            TSS_ENSURE(k->presig_fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
            tss_log(LOG_INFO, "key=%s: presignature record compacted (%zu records, %zu available)",
                    k->info.key_id, lines, k->n_presigs);
        } else {
            tss_log(LOG_WARNING, "key=%s: cannot compact %s (kept as is): %s", k->info.key_id,
                    path, tss_error_detail());
        }
    }
    return TSS_OK_RESULT;
}

static tss_result presig_open(coord *co, key_entry *k) {
    if (k->presig_fd >= 0) return TSS_OK_RESULT;
    char dir[4096], name[TSS_WIRE_MAX_KEY_ID + 8], path[4200];
    presig_path(co, k, dir, sizeof dir, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    TSS_GUARD(presig_mkdir(co, dir));
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) return presig_load(co, k); /* appeared since start */
    TSS_ENSURE(fd >= 0, TSS_E_IO, "%s: %s", path, strerror(errno));
    tss_result r = tss_write_all(fd, PRESIG_HEADER, sizeof PRESIG_HEADER - 1, path);
    if (tss_is_ok(r) && fdatasync(fd) != 0)
        r = tss_fail(TSS_E_IO, "%s: fdatasync: %s", path, strerror(errno));
    if (tss_is_ok(r)) r = tss_fsync_dir(dir);
    if (!tss_is_ok(r)) {
        close(fd);
        return r;
    }
    k->presig_fd = fd;
    return TSS_OK_RESULT;
}

static tss_result presig_append(key_entry *k, const char *line, size_t n) {
    TSS_GUARD(tss_write_all(k->presig_fd, line, n, "presignature record"));
    TSS_ENSURE(fdatasync(k->presig_fd) == 0, TSS_E_IO, "presignature record: fdatasync: %s",
               strerror(errno));
    return TSS_OK_RESULT;
}

tss_result coord_presig_add(coord *co, key_entry *k, const uint8_t id[TSS_WIRE_PRESIGN_ID_LEN],
                            const uint16_t *signers, uint16_t count) {
    coord_presig p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, id, sizeof p.id);
    p.count = count;
    memcpy(p.signers, signers, count * sizeof signers[0]);
    for (size_t i = 0; i < k->n_presigs; i++)
        TSS_ENSURE(memcmp(k->presigs[i].id, id, sizeof p.id) != 0, TSS_E_EXISTS,
                   "presignature id already recorded");
    TSS_GUARD(presig_open(co, k));
    char line[PRESIG_LINE_MAX];
    size_t n = presig_add_line(line, &p);
    TSS_GUARD(presig_append(k, line, n));
    return presig_push(k, &p);
}

tss_result coord_presig_take(coord *co, key_entry *k, size_t idx, coord_presig *out) {
    TSS_ENSURE(idx < k->n_presigs, TSS_E_INTERNAL, "no such presignature");
    *out = k->presigs[idx];
    presig_remove(k, idx); /* whatever happens below: it may be marked used on disk */
    TSS_GUARD(presig_open(co, k));
    char hex[2 * TSS_WIRE_PRESIGN_ID_LEN + 1], line[PRESIG_LINE_MAX];
    tss_hex_encode(hex, out->id, sizeof out->id);
    size_t n = (size_t)snprintf(line, sizeof line, "- %s\n", hex);
    return presig_append(k, line, n);
}

tss_result coord_registry_load(coord *co) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/" KEYS_DIR, co->cfg.state_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tss_fail(TSS_E_IO, "cannot create %s: %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    TSS_ENSURE(d != NULL, TSS_E_IO, "cannot read %s: %s", dir, strerror(errno));
    size_t n = 0;
    tss_result r = TSS_OK_RESULT;
    for (struct dirent *e; tss_is_ok(r) && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || e->d_name[0] == '.') continue;
        r = load_one(co, dir, e->d_name);
        n++;
    }
    closedir(d);
    TSS_GUARD(r);
    tss_log(LOG_INFO, "key registry: %zu key(s) in %s", n, dir);
    return TSS_OK_RESULT;
}

tss_result coord_registry_add(coord *co, const tss_wire_key_info *info,
                              const uint8_t identities[][32], const uint8_t session_id[16]) {
    key_entry *k = calloc(1, sizeof *k);
    TSS_ENSURE(k != NULL, TSS_E_NOMEM, "no memory");
    k->presig_fd = -1;
    k->info = *info;
    k->info.presignatures = 0;
    for (size_t i = 0; i < info->count; i++)
        memcpy(k->identities[info->parties[i]], identities[info->parties[i]], 32);
    /* The file. */
    tss_point X;
    uint8_t addr[TSS_ETH_ADDRESS_LEN], unc[65];
    char addr_s[TSS_ETH_ADDRESS_STR_SIZE], pk_hex[67], unc_hex[131], sid_hex[33], created[40];
    size_t ulen = sizeof unc;
    tss_result r = tss_pt_decode(&X, info->public_key, "public key");
    if (tss_is_ok(r) &&
        !secp256k1_ec_pubkey_serialize(tss_pt_context(), unc, &ulen, &X.pk, SECP256K1_EC_UNCOMPRESSED))
        r = tss_fail(TSS_E_CRYPTO, "cannot serialise the public key");
    if (tss_is_ok(r)) r = tss_eth_address_from_pubkey(addr, unc, sizeof unc);
    if (tss_is_ok(r)) r = tss_eth_address_to_string(addr_s, addr);
    if (!tss_is_ok(r)) {
        free(k);
        return r;
    }
    tss_hex_encode(pk_hex, info->public_key, TSS_WIRE_POINT_LEN);
    tss_hex_encode(unc_hex, unc, sizeof unc);
    tss_hex_encode(sid_hex, session_id, 16);
    iso_time((int64_t)info->created_ms, created, sizeof created);
    char *buf = malloc(16384);
    if (!buf) {
        free(k);
        return tss_fail(TSS_E_NOMEM, "no memory");
    }
    size_t o = (size_t)snprintf(buf, 16384,
                                "{\n  \"keyId\": \"%s\",\n  \"threshold\": %u,\n  \"totalParties\": %u,\n"
                                "  \"parties\": [",
                                info->key_id, info->threshold, info->count);
    for (size_t i = 0; i < info->count; i++)
        o += (size_t)snprintf(buf + o, 16384 - o, "%s%u", i ? ", " : "", info->parties[i]);
    o += (size_t)snprintf(buf + o, 16384 - o,
                          "],\n  \"publicKey\": \"%s\",\n  \"publicKeyUncompressed\": \"%s\",\n"
                          "  \"address\": \"%s\",\n  \"identities\": {",
                          pk_hex, unc_hex, addr_s);
    for (size_t i = 0; i < info->count; i++) {
        char ih[65];
        tss_hex_encode(ih, k->identities[info->parties[i]], 32);
        o += (size_t)snprintf(buf + o, 16384 - o, "%s\"%u\": \"%s\"", i ? ", " : "",
                              info->parties[i], ih);
    }
    o += (size_t)snprintf(buf + o, 16384 - o,
                          "},\n  \"created\": \"%s\",\n  \"createdMs\": %llu,\n  \"session\": \"%s\"\n}\n",
                          created, (unsigned long long)info->created_ms, sid_hex);
    char dir[4096], name[TSS_WIRE_MAX_KEY_ID + 8];
    snprintf(dir, sizeof dir, "%s/" KEYS_DIR, co->cfg.state_dir);
    snprintf(name, sizeof name, "%s.json", info->key_id);
    r = tss_file_write_atomic_mode(dir, name, buf, o, 0644, false, NULL);
    free(buf);
    if (!tss_is_ok(r)) {
        free(k);
        return r;
    }
    k->next = co->keys;
    co->keys = k;
    tss_log(LOG_NOTICE, "key=%s committed: t=%u n=%u public_key=%s address=%s", info->key_id,
            info->threshold, info->count, pk_hex, addr_s);
    return TSS_OK_RESULT;
}

void coord_registry_free(coord *co) {
    while (co->keys) {
        key_entry *k = co->keys;
        co->keys = k->next;
        if (k->presig_fd >= 0) close(k->presig_fd);
        free(k->presigs);
        free(k);
    }
}
