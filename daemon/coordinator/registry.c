/* The coordinator's public key registry and audit log (state_dir).
 *
 *   <state>/keys/<key-id>.json  one file per key, written atomically once,
 *                               when every keygen party reported success:
 *                               id, t, N, parties, public key, Ethereum
 *                               address, the parties' Ed25519 identities
 *                               pinned at keygen (used to verify their final
 *                               signing messages), creation time, session.
 *   <state>/audit.log           append-only JSON lines, one per operator
 *                               request: time, operator, request, key,
 *                               digest, signers, outcome, detail, session.
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
#define AUDIT_FILE "audit.log"
#define MAX_KEY_FILE (64 * 1024)

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
    TSS_ENSURE(!coord_registry_find(co, k->info.key_id), TSS_E_CORRUPT,
               "key registry %s: duplicate key id %s", path, k->info.key_id);
    k->next = co->keys;
    co->keys = k;
    return TSS_OK_RESULT;
}

tss_result coord_registry_load(coord *co) {
    char dir[4096], path[4096];
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
    snprintf(path, sizeof path, "%s/" AUDIT_FILE, co->cfg.state_dir);
    co->audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    TSS_ENSURE(co->audit_fd >= 0, TSS_E_IO, "cannot open %s: %s", path, strerror(errno));
    tss_log(LOG_INFO, "key registry: %zu key(s) in %s; audit log %s", n, dir, path);
    return TSS_OK_RESULT;
}

tss_result coord_registry_add(coord *co, const tss_wire_key_info *info,
                              const uint8_t identities[][32], const uint8_t session_id[16]) {
    key_entry *k = calloc(1, sizeof *k);
    TSS_ENSURE(k != NULL, TSS_E_NOMEM, "no memory");
    k->info = *info;
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
        free(k);
    }
    if (co->audit_fd > 2) close(co->audit_fd);
    co->audit_fd = -1;
}

void coord_audit(coord *co, const char *op, const char *fmt, ...) {
    char line[2048], t[40];
    iso_time(tss_wall_ms(), t, sizeof t);
    int n = snprintf(line, sizeof line, "{\"time\":\"%s\",\"operator\":\"%s\",", t, op);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 2, fmt, ap);
    va_end(ap);
    if ((size_t)n > sizeof line - 3) n = (int)sizeof line - 3;
    line[n++] = '}';
    line[n++] = '\n';
    if (co->audit_fd < 0) return;
    tss_result r = tss_write_all(co->audit_fd, line, (size_t)n, AUDIT_FILE);
    if (tss_is_ok(r) && fdatasync(co->audit_fd) != 0)
        r = tss_fail(TSS_E_IO, "audit log: fdatasync: %s", strerror(errno));
    if (!tss_is_ok(r)) tss_log(LOG_ERR, "audit log write failed: %s", tss_error_detail());
}
