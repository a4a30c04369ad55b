#include "daemon/keyfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "eth/address.h"
#include "mpc/point.h"
#include "util/hex.h"
#include "util/json.h"

#define CHECKSUM_LABEL "tssd/v2/coordinator-key-file"
#define CHECKSUM_PREFIX "  \"checksum\": \""
#define CHECKSUM_TAIL "\"\n}\n"

static void iso_time(int64_t ms, char *out, size_t cap) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static void checksum_hex(char out[65], const char *data, size_t len) {
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)data, len, (const uint8_t *)CHECKSUM_LABEL,
                       sizeof CHECKSUM_LABEL - 1);
    tss_hex_encode(out, h, sizeof h);
}

/* Appends to buf; false once cap is exceeded. */
static bool put(char *buf, size_t cap, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t cap, size_t *o, const char *fmt, ...) {
    if (*o >= cap) return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *o, cap - *o, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *o) {
        *o = cap;
        return false;
    }
    *o += (size_t)n;
    return true;
}

tss_result tss_keyfile_render(const tss_keyfile *k, unsigned version, char *buf, size_t cap,
                              size_t *len) {
    const tss_wire_key_info *info = &k->info;
    TSS_ENSURE(version >= 1 && version <= TSS_KEYFILE_VERSION, TSS_E_USAGE,
               "no key file format %u", version);
    TSS_ENSURE(version >= 3 || (info->epoch == 0 && !info->retired), TSS_E_USAGE,
               "key file format %u cannot record an epoch or retirement", version);
    tss_point X;
    uint8_t addr[TSS_ETH_ADDRESS_LEN], unc[65];
    char addr_s[TSS_ETH_ADDRESS_STR_SIZE], pk_hex[67], unc_hex[131], sid_hex[33], created[40];
    size_t ulen = sizeof unc;
    TSS_GUARD(tss_pt_decode(&X, info->public_key, "publicKey"));
    TSS_ENSURE(secp256k1_ec_pubkey_serialize(tss_pt_context(), unc, &ulen, &X.pk,
                                             SECP256K1_EC_UNCOMPRESSED),
               TSS_E_CRYPTO, "cannot serialise the public key");
    TSS_GUARD(tss_eth_address_from_pubkey(addr, unc, sizeof unc));
    TSS_GUARD(tss_eth_address_to_string(addr_s, addr));
    tss_hex_encode(pk_hex, info->public_key, TSS_WIRE_POINT_LEN);
    tss_hex_encode(unc_hex, unc, sizeof unc);
    tss_hex_encode(sid_hex, k->session, 16);
    iso_time((int64_t)info->created_ms, created, sizeof created);
    size_t o = 0;
    bool ok = put(buf, cap, &o, "{\n");
    if (version >= 2) ok = ok && put(buf, cap, &o, "  \"format\": %u,\n", version);
    ok = ok && put(buf, cap, &o,
                   "  \"keyId\": \"%s\",\n  \"threshold\": %u,\n  \"totalParties\": %u,\n"
                   "  \"parties\": [",
                   info->key_id, info->threshold, info->count);
    for (size_t i = 0; i < info->count; i++)
        ok = ok && put(buf, cap, &o, "%s%u", i ? ", " : "", info->parties[i]);
    ok = ok && put(buf, cap, &o,
                   "],\n  \"publicKey\": \"%s\",\n  \"publicKeyUncompressed\": \"%s\",\n"
                   "  \"address\": \"%s\",\n",
                   pk_hex, unc_hex, addr_s);
    /* The BIP-32 chain code (issue 15), format 2 only; absent in files written
     * before tssd kept it (such a key has no xpub and signs only as itself). */
    if (version >= 2 && info->has_chain_code) {
        char cc_hex[2 * TSS_WIRE_CHAIN_CODE_LEN + 1];
        tss_hex_encode(cc_hex, info->chain_code, TSS_WIRE_CHAIN_CODE_LEN);
        ok = ok && put(buf, cap, &o, "  \"chainCode\": \"%s\",\n", cc_hex);
    }
    ok = ok && put(buf, cap, &o, "  \"identities\": {");
    for (size_t i = 0; i < info->count; i++) {
        char ih[65];
        tss_hex_encode(ih, k->identities[info->parties[i]], 32);
        ok = ok && put(buf, cap, &o, "%s\"%u\": \"%s\"", i ? ", " : "", info->parties[i], ih);
    }
    ok = ok && put(buf, cap, &o, "},\n  \"created\": \"%s\",\n  \"createdMs\": %llu,\n",
                   created, (unsigned long long)info->created_ms);
    if (version >= 2) {
        ok = ok && put(buf, cap, &o, "  \"session\": \"%s\",\n", sid_hex);
        /* Format 3 (issue 17): the key epoch, and when the key was retired. */
        if (version >= 3) ok = ok && put(buf, cap, &o, "  \"epoch\": %u,\n", info->epoch);
        if (version >= 3 && info->retired) {
            char when[40];
            iso_time((int64_t)info->retired_ms, when, sizeof when);
            ok = ok && put(buf, cap, &o, "  \"retired\": \"%s\",\n  \"retiredMs\": %llu,\n",
                           when, (unsigned long long)info->retired_ms);
        }
        char sum[65];
        if (ok) checksum_hex(sum, buf, o);
        ok = ok && put(buf, cap, &o, CHECKSUM_PREFIX "%s" CHECKSUM_TAIL, sum);
    } else {
        ok = ok && put(buf, cap, &o, "  \"session\": \"%s\"\n}\n", sid_hex);
    }
    TSS_ENSURE(ok, TSS_E_TOO_LARGE, "key file larger than %zu bytes", cap);
    *len = o;
    return TSS_OK_RESULT;
}

static size_t line_of(const char *data, size_t off) {
    size_t line = 1;
    for (size_t i = 0; i < off; i++) line += data[i] == '\n';
    return line;
}

/* The fields, without the redundancy checks. */
static tss_result parse_fields(const char *data, size_t len, tss_keyfile *k, unsigned *format) {
    tss_json_doc *doc = NULL;
    tss_result pr = tss_json_parse(&doc, data, len, NULL);
    if (!tss_is_ok(pr)) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(TSS_E_CORRUPT, "not valid JSON: %s", detail);
    }
    const tss_json_value *root = tss_json_root(doc);
    const char *s;
    size_t sl;
    uint64_t u;
    tss_result r = tss_json_get_string(root, "keyId", &s, &sl);
    if (tss_is_ok(r)) {
        if (sl == 0 || sl > TSS_WIRE_MAX_KEY_ID) r = tss_fail(TSS_E_CORRUPT, "bad keyId");
        else snprintf(k->info.key_id, sizeof k->info.key_id, "%s", s);
    }
    if (tss_is_ok(r)) r = tss_json_get_u64(root, "threshold", &u);
    if (tss_is_ok(r)) k->info.threshold = (uint16_t)(u > TSS_WIRE_MAX_PARTIES ? 0 : u);
    if (tss_is_ok(r)) r = tss_json_get_u64(root, "createdMs", &k->info.created_ms);
    if (tss_is_ok(r) && k->info.created_ms > (uint64_t)1 << 50)
        r = tss_fail(TSS_E_CORRUPT, "createdMs out of range");
    if (tss_is_ok(r)) r = tss_json_get_string(root, "publicKey", &s, &sl);
    if (tss_is_ok(r)) r = tss_hex_decode(k->info.public_key, TSS_WIRE_POINT_LEN, s, "publicKey");
    if (tss_is_ok(r) && tss_json_get(root, "chainCode")) { /* optional */
        r = tss_json_get_string(root, "chainCode", &s, &sl);
        if (tss_is_ok(r))
            r = tss_hex_decode(k->info.chain_code, TSS_WIRE_CHAIN_CODE_LEN, s, "chainCode");
        if (tss_is_ok(r)) k->info.has_chain_code = 1;
    }
    if (tss_is_ok(r) && tss_json_get(root, "epoch")) { /* format 3 */
        r = tss_json_get_u64(root, "epoch", &u);
        if (tss_is_ok(r) && u > UINT32_MAX) r = tss_fail(TSS_E_CORRUPT, "epoch out of range");
        if (tss_is_ok(r)) k->info.epoch = (uint32_t)u;
    }
    if (tss_is_ok(r) && tss_json_get(root, "retiredMs")) { /* format 3, a retired key */
        r = tss_json_get_u64(root, "retiredMs", &k->info.retired_ms);
        if (tss_is_ok(r) && k->info.retired_ms > (uint64_t)1 << 50)
            r = tss_fail(TSS_E_CORRUPT, "retiredMs out of range");
        if (tss_is_ok(r)) k->info.retired = 1;
    }
    if (tss_is_ok(r)) r = tss_json_get_string(root, "session", &s, &sl);
    if (tss_is_ok(r)) r = tss_hex_decode(k->session, sizeof k->session, s, "session");
    const tss_json_value *parties = tss_json_get(root, "parties");
    const tss_json_value *ids = tss_json_get(root, "identities");
    if (tss_is_ok(r) && (!parties || parties->type != TSS_JSON_ARRAY ||
                         parties->u.arr.count > TSS_WIRE_MAX_PARTIES || !ids))
        r = tss_fail(TSS_E_CORRUPT, "parties/identities missing");
    for (size_t i = 0; tss_is_ok(r) && i < parties->u.arr.count; i++) {
        r = tss_json_as_u64(tss_json_at(parties, i), &u);
        if (tss_is_ok(r) && (u < 1 || u > TSS_WIRE_MAX_PARTIES || (i && u <= k->info.parties[i - 1])))
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
    *format = 0;
    const tss_json_value *fv = tss_json_get(root, "format");
    if (fv && tss_is_ok(tss_json_as_u64(fv, &u)) && u >= 2 && u <= TSS_KEYFILE_VERSION)
        *format = (unsigned)u;
    else if (fv)
        *format = 1; /* present but malformed: refused below */
    tss_json_free(doc);
    if (!tss_is_ok(r) && r.err != TSS_E_CORRUPT) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        return tss_fail(TSS_E_CORRUPT, "%s", detail);
    }
    return r;
}

tss_result tss_keyfile_parse(const char *data, size_t len, const char *name_key_id,
                             tss_keyfile *out, unsigned *version) {
    memset(out, 0, sizeof *out);
    TSS_ENSURE(len < TSS_KEYFILE_MAX, TSS_E_CORRUPT, "larger than %d bytes", TSS_KEYFILE_MAX);
    /* Format 2 ends with the checksum line; verify it before parsing. */
    const size_t sum_line = sizeof CHECKSUM_PREFIX - 1 + 64 + sizeof CHECKSUM_TAIL - 1;
    /* Format 1 has neither key: a damaged one of them still means format 2. */
    bool v2 = memmem(data, len, "\"format\"", 8) != NULL ||
              memmem(data, len, "\"checksum\"", 10) != NULL;
    if (v2) {
        /* A newer format is "unsupported", not "damaged". */
        const char *f = memmem(data, len, "\n  \"format\": ", 13);
        if (f && f + 13 < data + len && f[13] > '0' + TSS_KEYFILE_VERSION && f[13] <= '9' &&
            (f + 14 >= data + len || f[14] == ','))
            return tss_fail(TSS_E_UNSUPPORTED,
                            "key file format %c is newer than this build reads (%d)", f[13],
                            TSS_KEYFILE_VERSION);
        TSS_ENSURE(len >= sum_line, TSS_E_CORRUPT, "the file is cut short (no checksum line)");
        size_t at = len - sum_line;
        const char *line = data + at;
        TSS_ENSURE(memcmp(line, CHECKSUM_PREFIX, sizeof CHECKSUM_PREFIX - 1) == 0 &&
                       memcmp(data + len - (sizeof CHECKSUM_TAIL - 1), CHECKSUM_TAIL,
                              sizeof CHECKSUM_TAIL - 1) == 0,
                   TSS_E_CORRUPT,
                   "the file does not end with its checksum line (cut short or edited; line %zu)",
                   line_of(data, at));
        char want[65];
        checksum_hex(want, data, at);
        TSS_ENSURE(memcmp(want, line + sizeof CHECKSUM_PREFIX - 1, 64) == 0, TSS_E_CORRUPT,
                   "checksum mismatch: the file was changed after it was written");
    }
    unsigned format = 0;
    TSS_GUARD(parse_fields(data, len, out, &format));
    TSS_ENSURE((format >= 2) == v2, TSS_E_CORRUPT, "malformed \"format\" field");
    TSS_ENSURE(format >= 3 || (out->info.epoch == 0 && !out->info.retired), TSS_E_CORRUPT,
               "\"epoch\"/\"retiredMs\" in a format %u file", format ? format : 1);
    TSS_ENSURE(strcmp(out->info.key_id, name_key_id) == 0, TSS_E_CORRUPT,
               "keyId '%s' does not match the file name (key '%s')", out->info.key_id,
               name_key_id);
    /* Redundant fields: the file must be exactly what its fields imply. */
    unsigned ver = v2 ? format : 1;
    char canon[TSS_KEYFILE_MAX];
    size_t clen = 0;
    tss_result r = tss_keyfile_render(out, ver, canon, sizeof canon, &clen);
    TSS_ENSURE(tss_is_ok(r), TSS_E_CORRUPT, "fields cannot be rendered");
    if (clen != len || memcmp(canon, data, len) != 0) {
        size_t i = 0;
        while (i < len && i < clen && canon[i] == data[i]) i++;
        size_t ln = line_of(data, i), st = i;
        while (st > 0 && data[st - 1] != '\n') st--;
        const char *f = memchr(data + st, '"', len - st);
        char field[40] = "?";
        if (f) {
            size_t n = 0;
            for (f++; f < data + len && *f != '"' && *f != '\n' && n < sizeof field - 1; f++)
                field[n++] = *f;
            field[n] = '\0';
        }
        return tss_fail(TSS_E_CORRUPT,
                        "line %zu (\"%s\") disagrees with the other fields (e.g. address or "
                        "publicKeyUncompressed not derived from publicKey), or the file has "
                        "been reformatted",
                        ln, field);
    }
    *version = ver;
    return TSS_OK_RESULT;
}
