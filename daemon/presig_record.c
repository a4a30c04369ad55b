#include "daemon/presig_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/hex.h"

#define SUM_LABEL "tssd/v2/presig-record"
#define HEX_ID (2 * TSS_WIRE_PRESIGN_ID_LEN)
#define SUM_HEX 32

static void sum_hex(char out[SUM_HEX + 1], const char *key_id, uint64_t index, const char *line,
                    size_t len) {
    crypto_generichash_state st;
    uint8_t le[8], h[SUM_HEX / 2];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(index >> (8 * i));
    crypto_generichash_init(&st, (const uint8_t *)SUM_LABEL, sizeof SUM_LABEL - 1, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)key_id, strlen(key_id));
    crypto_generichash_update(&st, (const uint8_t *)"\n", 1);
    crypto_generichash_update(&st, le, sizeof le);
    crypto_generichash_update(&st, (const uint8_t *)line, len);
    crypto_generichash_final(&st, h, sizeof h);
    tss_hex_encode(out, h, sizeof h);
}

size_t tss_precord_line(char *out, const char *key_id, uint64_t index, char op,
                        const tss_precord_entry *p) {
    char hex[HEX_ID + 1];
    tss_hex_encode(hex, p->id, sizeof p->id);
    size_t o = (size_t)snprintf(out, TSS_PRECORD_LINE_MAX, "%c %s", op, hex);
    if (op == '+') {
        out[o++] = ' ';
        for (size_t i = 0; i < p->count; i++)
            o += (size_t)snprintf(out + o, TSS_PRECORD_LINE_MAX - o, "%s%u", i ? "," : "",
                                  p->signers[i]);
        if (p->path.depth) { /* without a path the line keeps the earlier form */
            out[o++] = ' ';
            tss_bip32_path_format(out + o, TSS_PRECORD_LINE_MAX - o, &p->path);
            o += strlen(out + o);
        }
    }
    char sum[SUM_HEX + 1];
    sum_hex(sum, key_id, index, out, o);
    o += (size_t)snprintf(out + o, TSS_PRECORD_LINE_MAX - o, " %s\n", sum);
    return o;
}

void tss_precord_free(tss_precord *r) {
    free(r->avail);
    r->avail = NULL;
    r->n_avail = r->cap_avail = 0;
}

static tss_result push(tss_precord *r, const tss_precord_entry *p) {
    if (r->n_avail == r->cap_avail) {
        size_t cap = r->cap_avail ? 2 * r->cap_avail : 16;
        tss_precord_entry *n = realloc(r->avail, cap * sizeof *n);
        TSS_ENSURE(n != NULL, TSS_E_NOMEM, "no memory for presignature records");
        r->avail = n;
        r->cap_avail = cap;
    }
    r->avail[r->n_avail++] = *p;
    return TSS_OK_RESULT;
}

static void remove_at(tss_precord *r, size_t i) {
    memmove(&r->avail[i], &r->avail[i + 1], (r->n_avail - i - 1) * sizeof r->avail[0]);
    r->n_avail--;
}

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* One complete record line (without its newline), record number index. */
static tss_result parse_line(tss_precord *r, const tss_precord_key *key, unsigned version,
                             const char *line, size_t len, size_t lineno, uint64_t index) {
    char buf[TSS_PRECORD_LINE_MAX + 1];
    TSS_ENSURE(len >= 2 + HEX_ID && len < sizeof buf, TSS_E_CORRUPT, "line %zu: malformed record",
               lineno);
    memcpy(buf, line, len);
    buf[len] = '\0';
    TSS_ENSURE(strlen(buf) == len, TSS_E_CORRUPT, "line %zu: NUL byte in a record", lineno);
    if (version >= 2) {
        TSS_ENSURE(len > SUM_HEX + 1 && buf[len - SUM_HEX - 1] == ' ', TSS_E_CORRUPT,
                   "line %zu: record without its checksum", lineno);
        char want[SUM_HEX + 1];
        sum_hex(want, key->key_id, index, buf, len - SUM_HEX - 1);
        TSS_ENSURE(memcmp(want, buf + len - SUM_HEX, SUM_HEX) == 0, TSS_E_CORRUPT,
                   "line %zu (record %llu) fails its checksum: the record was changed, moved "
                   "or removed",
                   lineno, (unsigned long long)index);
        len -= SUM_HEX + 1;
        buf[len] = '\0';
    }
    TSS_ENSURE(len >= 2 + HEX_ID && (buf[0] == '+' || buf[0] == '-') && buf[1] == ' ',
               TSS_E_CORRUPT, "line %zu: malformed record", lineno);
    tss_precord_entry p;
    memset(&p, 0, sizeof p);
    char hex[HEX_ID + 1];
    memcpy(hex, buf + 2, HEX_ID);
    hex[HEX_ID] = '\0';
    for (size_t i = 0; i < HEX_ID; i++)
        TSS_ENSURE(is_hex(hex[i]), TSS_E_CORRUPT, "line %zu: bad presign id", lineno);
    tss_result hr = tss_hex_decode(p.id, sizeof p.id, hex, "presign id");
    TSS_ENSURE(tss_is_ok(hr), TSS_E_CORRUPT, "line %zu: bad presign id", lineno);
    const char *rest = buf + 2 + HEX_ID;
    if (buf[0] == '-') {
        TSS_ENSURE(*rest == '\0', TSS_E_CORRUPT, "line %zu: malformed record", lineno);
        for (size_t i = 0; i < r->n_avail; i++)
            if (memcmp(r->avail[i].id, p.id, sizeof p.id) == 0) {
                remove_at(r, i);
                return TSS_OK_RESULT;
            }
        return tss_fail(TSS_E_CORRUPT,
                        "line %zu: takes presignature %.16s... which no earlier line records as "
                        "available",
                        lineno, hex);
    }
    TSS_ENSURE(*rest == ' ', TSS_E_CORRUPT, "line %zu: malformed record", lineno);
    rest++;
    char *sp = strchr(buf + 2 + HEX_ID + 1, ' '); /* optional path after the signers */
    if (sp) {
        *sp = '\0';
        char canon[TSS_BIP32_PATH_TEXT_MAX];
        tss_result pr = tss_bip32_path_parse(&p.path, sp + 1);
        if (tss_is_ok(pr)) tss_bip32_path_format(canon, sizeof canon, &p.path);
        TSS_ENSURE(tss_is_ok(pr) && p.path.depth > 0 && strcmp(canon, sp + 1) == 0,
                   TSS_E_CORRUPT, "line %zu: bad derivation path", lineno);
    }
    while (*rest) {
        char *end;
        TSS_ENSURE(*rest >= '0' && *rest <= '9', TSS_E_CORRUPT, "line %zu: bad signer list",
                   lineno);
        unsigned long v = strtoul(rest, &end, 10);
        TSS_ENSURE(end != rest && end - rest <= 2 && (*end == ',' || *end == '\0') &&
                       p.count < key->threshold,
                   TSS_E_CORRUPT, "line %zu: bad signer list", lineno);
        bool member = false;
        for (size_t i = 0; i < key->count; i++) member = member || key->parties[i] == v;
        TSS_ENSURE(member && (p.count == 0 || v > p.signers[p.count - 1]), TSS_E_CORRUPT,
                   "line %zu: signer %lu is not a party of the key (or out of order)", lineno, v);
        p.signers[p.count++] = (uint16_t)v;
        TSS_ENSURE(*end != ',' || end[1] != '\0', TSS_E_CORRUPT, "line %zu: bad signer list",
                   lineno);
        rest = *end ? end + 1 : end;
    }
    TSS_ENSURE(p.count == key->threshold, TSS_E_CORRUPT, "line %zu: %u signers for threshold %u",
               lineno, p.count, key->threshold);
    for (size_t i = 0; i < r->n_avail; i++)
        TSS_ENSURE(memcmp(r->avail[i].id, p.id, sizeof p.id) != 0, TSS_E_CORRUPT,
                   "line %zu: presign id recorded twice", lineno);
    return push(r, &p);
}

/* Is t (n bytes, no newline) a prefix of a well-formed record? *hexlen gets
 * the number of id hex digits it holds. */
static bool torn_prefix_ok(const char *t, size_t n, size_t *hexlen) {
    *hexlen = 0;
    if (n == 0 || (t[0] != '+' && t[0] != '-')) return false;
    if (n >= 2 && t[1] != ' ') return false;
    size_t i = 2;
    for (; i < n && i < 2 + HEX_ID; i++)
        if (!is_hex(t[i])) return false;
    *hexlen = i > 2 ? i - 2 : 0;
    if (n > TSS_PRECORD_LINE_MAX) return false;
    for (; i < n; i++) /* signers, separators, path, checksum */
        if (!is_hex(t[i]) && t[i] != ' ' && t[i] != ',' && t[i] != 'm' && t[i] != '/')
            return false;
    return true;
}

tss_result tss_precord_parse(const char *data, size_t len, const tss_precord_key *key,
                             tss_precord *out) {
    TSS_ENSURE(len <= TSS_PRECORD_MAX, TSS_E_CORRUPT, "larger than %u bytes", TSS_PRECORD_MAX);
    const size_t hl = sizeof TSS_PRECORD_HEADER - 1;
    _Static_assert(sizeof TSS_PRECORD_HEADER == sizeof TSS_PRECORD_HEADER_V1, "same length");
    size_t keep = len;
    while (keep > 0 && data[keep - 1] != '\n') keep--;
    if (keep < hl) {
        /* Nothing but (part of) the header: a crash while creating the file. */
        TSS_ENSURE(len <= hl && (memcmp(data, TSS_PRECORD_HEADER, len) == 0 ||
                                 memcmp(data, TSS_PRECORD_HEADER_V1, len) == 0),
                   TSS_E_CORRUPT, "line 1: not a presignature record (bad header)");
        out->version = 0;
        out->keep = 0;
        out->torn = len;
        return TSS_OK_RESULT;
    }
    if (memcmp(data, TSS_PRECORD_HEADER, hl) == 0) out->version = 2;
    else if (memcmp(data, TSS_PRECORD_HEADER_V1, hl) == 0) out->version = 1;
    else return tss_fail(TSS_E_CORRUPT, "line 1: not a presignature record (bad header)");
    size_t lineno = 2;
    for (size_t o = hl; o < keep; lineno++) {
        const char *nl = memchr(data + o, '\n', keep - o);
        TSS_GUARD(parse_line(out, key, out->version, data + o, (size_t)(nl - (data + o)), lineno,
                             out->records));
        out->records++;
        o = (size_t)(nl - data) + 1;
    }
    out->keep = keep;
    out->torn = len - keep;
    if (!out->torn) return TSS_OK_RESULT;
    const char *t = data + keep;
    size_t n = len - keep, hexlen = 0;
    bool zeros = true;
    for (size_t i = 0; i < n; i++) zeros = zeros && t[i] == '\0';
    if (!zeros) {
        TSS_ENSURE(torn_prefix_ok(t, n, &hexlen), TSS_E_CORRUPT,
                   "line %zu: the unfinished last record is not the start of a record", lineno);
        if (t[0] == '+') return TSS_OK_RESULT; /* never recorded: drop it */
    }
    /* A torn "-": whatever it took is taken. */
    for (size_t i = 0; i < out->n_avail;) {
        char hex[HEX_ID + 1];
        tss_hex_encode(hex, out->avail[i].id, sizeof out->avail[i].id);
        if (hexlen == 0 || memcmp(hex, t + 2, hexlen) == 0) {
            remove_at(out, i);
            out->burned++;
        } else {
            i++;
        }
    }
    return TSS_OK_RESULT;
}
