/* The coordinator's state files (issue 11 finding 6): the key file
 * keys/<key-id>.json (daemon/keyfile.h) and the presignature record
 * presig/<key-id>.log (daemon/presig_record.h). Every flipped byte and every
 * cut must be detected, or (for a cut record's tail) handled by the torn-tail
 * rule, which never makes a used presignature available again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <sodium.h>

#include "daemon/keyfile.h"
#include "daemon/presig_record.h"
#include "mpc/point.h"
#include "tests/unit/harness.h"
#include "util/hex.h"
#include "util/secmem.h"

static bool detail_has(const char *s) {
    bool ok = strstr(tss_error_detail(), s) != NULL;
    if (!ok) fprintf(stderr, "  detail was: %s (wanted '%s')\n", tss_error_detail(), s);
    return ok;
}

static void random_point(uint8_t out[33]) {
    uint8_t sk[32];
    secp256k1_pubkey pk;
    do randombytes_buf(sk, sizeof sk);
    while (!secp256k1_ec_pubkey_create(tss_pt_context(), &pk, sk));
    size_t n = 33;
    secp256k1_ec_pubkey_serialize(tss_pt_context(), out, &n, &pk, SECP256K1_EC_COMPRESSED);
    sodium_memzero(sk, sizeof sk);
}

static void sample_key(tss_keyfile *k) {
    memset(k, 0, sizeof *k);
    snprintf(k->info.key_id, sizeof k->info.key_id, "treasury-1");
    k->info.threshold = 2;
    k->info.count = 3;
    k->info.parties[0] = 1;
    k->info.parties[1] = 2;
    k->info.parties[2] = 5;
    random_point(k->info.public_key);
    k->info.created_ms = 1764750000123ull;
    for (int i = 0; i < 3; i++) randombytes_buf(k->identities[k->info.parties[i]], 32);
    randombytes_buf(k->session, sizeof k->session);
}

static bool same_key(const tss_keyfile *a, const tss_keyfile *b) {
    if (strcmp(a->info.key_id, b->info.key_id) || a->info.threshold != b->info.threshold ||
        a->info.count != b->info.count || a->info.created_ms != b->info.created_ms ||
        memcmp(a->info.public_key, b->info.public_key, 33) || memcmp(a->session, b->session, 16))
        return false;
    for (int i = 0; i < a->info.count; i++)
        if (a->info.parties[i] != b->info.parties[i] ||
            memcmp(a->identities[a->info.parties[i]], b->identities[b->info.parties[i]], 32))
            return false;
    return true;
}

static char kbuf[TSS_KEYFILE_MAX], kbad[TSS_KEYFILE_MAX];

static void keyfile_round_trip(void) {
    tss_keyfile k, back;
    sample_key(&k);
    size_t len = 0;
    unsigned ver = 0;
    CHECK_OK(tss_keyfile_render(&k, TSS_KEYFILE_VERSION, kbuf, sizeof kbuf, &len));
    CHECK(strstr(kbuf, "\"format\": 3,") && strstr(kbuf, "\"checksum\": \""));
    CHECK(strstr(kbuf, "\"epoch\": 0,") && !strstr(kbuf, "retired"));
    CHECK_OK(tss_keyfile_parse(kbuf, len, "treasury-1", &back, &ver));
    CHECK(ver == 3 && same_key(&k, &back) && back.info.epoch == 0 && !back.info.retired);
    /* Format 2 (written before epochs) parses, as epoch 0. */
    CHECK_OK(tss_keyfile_render(&k, 2, kbuf, sizeof kbuf, &len));
    CHECK(strstr(kbuf, "\"format\": 2,") && !strstr(kbuf, "epoch"));
    CHECK_OK(tss_keyfile_parse(kbuf, len, "treasury-1", &back, &ver));
    CHECK(ver == 2 && same_key(&k, &back) && back.info.epoch == 0);
    /* Format 1 (as written before) parses and reports its version. */
    CHECK_OK(tss_keyfile_render(&k, 1, kbuf, sizeof kbuf, &len));
    CHECK(!strstr(kbuf, "checksum"));
    CHECK_OK(tss_keyfile_parse(kbuf, len, "treasury-1", &back, &ver));
    CHECK(ver == 1 && same_key(&k, &back));
}

/* The BIP-32 chain code (issue 15): kept in format 2 when the key has one,
 * covered by the checksum; a file without it (written before) stays valid. */
static void keyfile_chain_code(void) {
    tss_keyfile k, back;
    sample_key(&k);
    k.info.has_chain_code = 1;
    randombytes_buf(k.info.chain_code, sizeof k.info.chain_code);
    size_t len = 0;
    unsigned ver = 0;
    CHECK_OK(tss_keyfile_render(&k, TSS_KEYFILE_VERSION, kbuf, sizeof kbuf, &len));
    char *cc = strstr(kbuf, "\"chainCode\": \"");
    CHECK(cc != NULL);
    CHECK_OK(tss_keyfile_parse(kbuf, len, "treasury-1", &back, &ver));
    CHECK(same_key(&k, &back) && back.info.has_chain_code &&
          memcmp(back.info.chain_code, k.info.chain_code, 32) == 0);
    /* Changed without recomputing the checksum: refused. */
    if (cc) {
        memcpy(kbad, kbuf, len);
        size_t at = (size_t)(cc - kbuf) + 14;
        kbad[at] = kbad[at] == '0' ? '1' : '0';
        CHECK_ERR(tss_keyfile_parse(kbad, len, "treasury-1", &back, &ver), TSS_E_CORRUPT);
    }
    /* Without a chain code: no line, still valid, reported as absent. */
    k.info.has_chain_code = 0;
    CHECK_OK(tss_keyfile_render(&k, TSS_KEYFILE_VERSION, kbuf, sizeof kbuf, &len));
    CHECK(strstr(kbuf, "chainCode") == NULL);
    CHECK_OK(tss_keyfile_parse(kbuf, len, "treasury-1", &back, &ver));
    CHECK(!back.info.has_chain_code);
}

/* Issue 17: the epoch and the retirement are kept in format 3, covered by
 * the checksum; a format-2 file cannot claim either. */
static void keyfile_epoch_retired(void) {
    tss_keyfile k, back;
    sample_key(&k);
    k.info.epoch = 7;
    k.info.retired = 1;
    k.info.retired_ms = 1780000000123ull;
    size_t len = 0;
    unsigned ver = 0;
    CHECK_OK(tss_keyfile_render(&k, TSS_KEYFILE_VERSION, kbuf, sizeof kbuf, &len));
    CHECK(strstr(kbuf, "\"epoch\": 7,") && strstr(kbuf, "\"retiredMs\": 1780000000123,") &&
          strstr(kbuf, "\"retired\": \"2026-"));
    CHECK_OK(tss_keyfile_parse(kbuf, len, "treasury-1", &back, &ver));
    CHECK(ver == 3 && back.info.epoch == 7 && back.info.retired == 1 &&
          back.info.retired_ms == 1780000000123ull);
    /* Format 2 cannot record them (the writer refuses; the reader too). */
    CHECK_ERR(tss_keyfile_render(&k, 2, kbad, sizeof kbad, &len), TSS_E_USAGE);
    /* Dropping the retirement lines (checksum recomputed) from a retired
     * key's file is an edit the redundancy check cannot see: the checksum is
     * the only guard, as for every field (keyfile.h). Without recomputing: */
    CHECK_OK(tss_keyfile_render(&k, TSS_KEYFILE_VERSION, kbuf, sizeof kbuf, &len));
    memcpy(kbad, kbuf, len + 1);
    char *ret = strstr(kbad, "  \"retired\": ");
    char *end = ret ? strstr(ret, "  \"checksum\"") : NULL;
    CHECK(ret && end);
    if (ret && end) {
        memmove(ret, end, strlen(end) + 1);
        CHECK_ERR(tss_keyfile_parse(kbad, strlen(kbad), "treasury-1", &back, &ver),
                  TSS_E_CORRUPT);
    }
}

/* Every single-byte change and every cut of a format-3 key file is refused. */
static void keyfile_every_flip_and_cut(void) {
    tss_keyfile k, back;
    sample_key(&k);
    k.info.epoch = 3;
    k.info.retired = 1;
    k.info.retired_ms = 1780000000123ull;
    size_t len = 0;
    unsigned ver = 0;
    CHECK_OK(tss_keyfile_render(&k, TSS_KEYFILE_VERSION, kbuf, sizeof kbuf, &len));
    size_t accepted = 0;
    for (size_t at = 0; at < len; at++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(kbad, kbuf, len);
            kbad[at] ^= (char)(1u << bit);
            tss_result r = tss_keyfile_parse(kbad, len, "treasury-1", &back, &ver);
            /* Refused as damaged (or, for "format": 2 -> 3, as a newer format). */
            if (tss_is_ok(r) || (r.err != TSS_E_CORRUPT && r.err != TSS_E_UNSUPPORTED)) {
                accepted++;
                fprintf(stderr, "  flip at %zu bit %d accepted (%s)\n", at, bit, tss_error_detail());
            }
        }
    CHECK(accepted == 0);
    for (size_t cut = 0; cut < len; cut++) {
        tss_result r = tss_keyfile_parse(kbuf, cut, "treasury-1", &back, &ver);
        if (tss_is_ok(r) || r.err != TSS_E_CORRUPT) accepted++;
    }
    CHECK(accepted == 0);
}

/* Consistent edits that recompute the checksum: caught by the redundancy
 * checks (the old loader accepted a changed publicKey outright). */
static void keyfile_cross_checks(void) {
    tss_keyfile k, edited, back;
    sample_key(&k);
    size_t len = 0, elen = 0;
    unsigned ver = 0;
    CHECK_OK(tss_keyfile_render(&k, TSS_KEYFILE_VERSION, kbuf, sizeof kbuf, &len));
    /* Another valid publicKey, rest kept, checksum recomputed. */
    edited = k;
    random_point(edited.info.public_key);
    char old_pk[67], new_pk[67];
    tss_hex_encode(old_pk, k.info.public_key, 33);
    tss_hex_encode(new_pk, edited.info.public_key, 33);
    memcpy(kbad, kbuf, len + 1);
    char *pk = strstr(kbad, old_pk);
    CHECK(pk != NULL);
    if (!pk) return;
    memcpy(pk, new_pk, 66);
    /* recompute the checksum the way a careful forger would */
    char *sum = strstr(kbad, "  \"checksum\": \"");
    uint8_t h[32];
    crypto_generichash(h, 32, (const uint8_t *)kbad, (size_t)(sum - kbad),
                       (const uint8_t *)"tssd/v2/coordinator-key-file", 28);
    char hx[65];
    tss_hex_encode(hx, h, 32);
    memcpy(sum + 15, hx, 64);
    CHECK_ERR(tss_keyfile_parse(kbad, len, "treasury-1", &back, &ver), TSS_E_CORRUPT);
    CHECK(detail_has("disagrees with the other fields") && detail_has("publicKeyUncompressed"));
    /* A newer format is unsupported, not damaged. */
    memcpy(kbad, kbuf, len + 1);
    char *fmt = strstr(kbad, "\"format\": 3");
    CHECK(fmt != NULL);
    if (fmt) fmt[10] = '4';
    CHECK_ERR(tss_keyfile_parse(kbad, len, "treasury-1", &back, &ver), TSS_E_UNSUPPORTED);
    CHECK(detail_has("format 4 is newer"));
    /* The file under another key's name. */
    CHECK_ERR(tss_keyfile_parse(kbuf, len, "treasury-2", &back, &ver), TSS_E_CORRUPT);
    CHECK(detail_has("does not match the file name"));
    /* A format-1 file with an address that is not publicKey's. */
    CHECK_OK(tss_keyfile_render(&k, 1, kbuf, sizeof kbuf, &len));
    CHECK_OK(tss_keyfile_render(&edited, 1, kbad, sizeof kbad, &elen));
    char *a1 = strstr(kbuf, "\"address\""), *a2 = strstr(kbad, "\"address\"");
    CHECK(a1 && a2 && elen == len);
    if (!a1 || !a2) return;
    memcpy(a1, a2, 56);
    CHECK_ERR(tss_keyfile_parse(kbuf, len, "treasury-1", &back, &ver), TSS_E_CORRUPT);
    CHECK(detail_has("line 8 (\"address\")"));
}

/* ---- presignature record ------------------------------------------------------------------ */

static const uint16_t PARTIES[3] = {1, 2, 5};
static const tss_precord_key KEY = {"treasury-1", 2, 3, PARTIES};

typedef struct {
    char *data;
    size_t len;
    size_t line_start[8]; /* byte offset of each record line */
} record_file;

/* header, +A(1,2), +B(2,5), +C(1,5), -B: A and C available. */
static void build_record(record_file *f, tss_precord_entry e[3], unsigned version) {
    static char buf[4096];
    f->data = buf;
    const char *hdr = version == 1 ? TSS_PRECORD_HEADER_V1 : TSS_PRECORD_HEADER;
    size_t o = strlen(hdr);
    memcpy(buf, hdr, o);
    const uint16_t sets[3][2] = {{1, 2}, {2, 5}, {1, 5}};
    for (int i = 0; i < 3; i++) {
        memset(&e[i], 0, sizeof e[i]);
        randombytes_buf(e[i].id, sizeof e[i].id);
        e[i].count = 2;
        e[i].signers[0] = sets[i][0];
        e[i].signers[1] = sets[i][1];
    }
    const char ops[4] = {'+', '+', '+', '-'};
    const int which[4] = {0, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        f->line_start[i] = o;
        if (version == 1) {
            char hex[65];
            tss_hex_encode(hex, e[which[i]].id, 32);
            o += (size_t)sprintf(buf + o, "%c %s", ops[i], hex);
            if (ops[i] == '+')
                o += (size_t)sprintf(buf + o, " %u,%u", e[which[i]].signers[0],
                                     e[which[i]].signers[1]);
            buf[o++] = '\n';
        } else {
            o += tss_precord_line(buf + o, KEY.key_id, (uint64_t)i, ops[i], &e[which[i]]);
        }
    }
    f->line_start[4] = o;
    f->len = o;
}

static bool available(const tss_precord *r, const tss_precord_entry *e) {
    for (size_t i = 0; i < r->n_avail; i++)
        if (memcmp(r->avail[i].id, e->id, 32) == 0) return true;
    return false;
}

static void precord_round_trip(void) {
    for (unsigned v = 1; v <= 2; v++) {
        record_file f;
        tss_precord_entry e[3];
        build_record(&f, e, v);
        tss_precord r;
        memset(&r, 0, sizeof r);
        CHECK_OK(tss_precord_parse(f.data, f.len, &KEY, &r));
        CHECK(r.version == v && r.records == 4 && r.n_avail == 2 && r.torn == 0 &&
              available(&r, &e[0]) && !available(&r, &e[1]) && available(&r, &e[2]));
        CHECK(r.n_avail == 2 && r.avail[1].signers[1] == 5);
        tss_precord_free(&r);
    }
}

/* A record carries the derivation path its presignature was made for (issue
 * 15); records without one serve the key itself. A path that is not
 * canonical, or hardened, is damage. */
static void precord_path(void) {
    static char buf[4096];
    const char *hdr = TSS_PRECORD_HEADER;
    size_t o = strlen(hdr);
    memcpy(buf, hdr, o);
    tss_precord_entry e[2];
    memset(e, 0, sizeof e);
    for (int i = 0; i < 2; i++) {
        randombytes_buf(e[i].id, sizeof e[i].id);
        e[i].count = 2, e[i].signers[0] = 1, e[i].signers[1] = 5;
    }
    CHECK_OK(tss_bip32_path_parse(&e[1].path, "m/44/60/0/0/2147483647"));
    size_t l0 = o;
    o += tss_precord_line(buf + o, KEY.key_id, 0, '+', &e[0]);
    size_t l1 = o;
    o += tss_precord_line(buf + o, KEY.key_id, 1, '+', &e[1]);
    CHECK(memmem(buf + l0, l1 - l0, " m/", 3) == NULL);
    CHECK(memmem(buf + l1, o - l1, " 1,5 m/44/60/0/0/2147483647 ", 28) != NULL);
    tss_precord r;
    memset(&r, 0, sizeof r);
    CHECK_OK(tss_precord_parse(buf, o, &KEY, &r));
    CHECK(r.n_avail == 2 && r.avail[0].path.depth == 0 &&
          tss_bip32_path_eq(&r.avail[1].path, &e[1].path));
    tss_precord_free(&r);
    /* A torn "+" with a path (crash mid-append) is dropped, not damage. */
    memset(&r, 0, sizeof r);
    CHECK_OK(tss_precord_parse(buf, l1 + (o - l1) / 2, &KEY, &r));
    CHECK(r.n_avail == 1 && r.torn > 0);
    tss_precord_free(&r);
    /* Non-canonical, empty or hardened paths: refused as damage (format 1
     * lines, which carry no sum, so that only the path is at fault). */
    static const char *bad[] = {"m/01", "m/1'", "m/2147483648", "m", "m/1/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char hex[65];
        tss_hex_encode(hex, e[0].id, 32);
        static char f[4096];
        const char *h1 = TSS_PRECORD_HEADER_V1;
        size_t fo = strlen(h1);
        memcpy(f, h1, fo);
        fo += (size_t)snprintf(f + fo, sizeof f - fo, "+ %s 1,5 %s\n", hex, bad[i]);
        memset(&r, 0, sizeof r);
        CHECK_ERR(tss_precord_parse(f, fo, &KEY, &r), TSS_E_CORRUPT);
        tss_precord_free(&r);
    }
}

/* Every single-byte change is refused (format 2); the old reader accepted a
 * changed "-" id, making a used presignature available again. */
static void precord_every_flip(void) {
    record_file f;
    tss_precord_entry e[3];
    build_record(&f, e, 2);
    static char bad[4096];
    size_t accepted = 0;
    for (size_t at = 0; at < f.len; at++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(bad, f.data, f.len);
            bad[at] ^= (char)(1u << bit);
            tss_precord r;
            memset(&r, 0, sizeof r);
            tss_result res = tss_precord_parse(bad, f.len, &KEY, &r);
            /* The one acceptable outcome besides refusal: a flipped final
             * newline that leaves a torn "-", which still counts as used. */
            bool ok = !tss_is_ok(res) && res.err == TSS_E_CORRUPT;
            if (tss_is_ok(res) && !available(&r, &e[1])) ok = at == f.len - 1;
            if (!ok) {
                accepted++;
                fprintf(stderr, "  flip at %zu bit %d: %s\n", at, bit,
                        tss_is_ok(res) ? "accepted" : tss_error_detail());
            }
            tss_precord_free(&r);
        }
    CHECK(accepted == 0);
    /* A line named: a changed "-" record. */
    memcpy(bad, f.data, f.len);
    bad[f.line_start[3] + 5] ^= 1;
    tss_precord r;
    memset(&r, 0, sizeof r);
    CHECK_ERR(tss_precord_parse(bad, f.len, &KEY, &r), TSS_E_CORRUPT);
    CHECK(detail_has("line 5 (record 3) fails its checksum"));
    tss_precord_free(&r);
    /* A record removed from the middle; a record of another key. */
    size_t l1 = f.line_start[2] - f.line_start[1];
    memcpy(bad, f.data, f.line_start[1]);
    memcpy(bad + f.line_start[1], f.data + f.line_start[2], f.len - f.line_start[2]);
    memset(&r, 0, sizeof r);
    CHECK_ERR(tss_precord_parse(bad, f.len - l1, &KEY, &r), TSS_E_CORRUPT);
    tss_precord_free(&r);
    tss_precord_key other = KEY;
    other.key_id = "treasury-2";
    memset(&r, 0, sizeof r);
    CHECK_ERR(tss_precord_parse(f.data, f.len, &other, &r), TSS_E_CORRUPT);
    tss_precord_free(&r);
}

/* Every cut: a cut inside the final "-" record counts as used (never free);
 * cuts elsewhere give an older, consistent state (a torn "+" is dropped). */
static void precord_every_cut(void) {
    for (unsigned v = 1; v <= 2; v++) {
        record_file f;
        tss_precord_entry e[3];
        build_record(&f, e, v);
        size_t wrong = 0;
        for (size_t cut = 0; cut <= f.len; cut++) {
            tss_precord r;
            memset(&r, 0, sizeof r);
            tss_result res = tss_precord_parse(f.data, cut, &KEY, &r);
            bool ok = tss_is_ok(res);
            if (ok && cut > f.line_start[3]) ok = !available(&r, &e[1]); /* torn "-B" */
            if (ok && cut > f.line_start[3] && cut < f.len)
                ok = r.torn == cut - f.line_start[3] && r.burned >= 1;
            if (ok && cut > f.line_start[3] && cut <= f.line_start[3] + 2)
                ok = r.n_avail == 0; /* "-" or "- ": no digit, everything taken */
            if (ok && cut <= f.line_start[3] && cut >= f.line_start[2])
                ok = available(&r, &e[0]) && available(&r, &e[1]);
            if (!ok) {
                wrong++;
                fprintf(stderr, "  v%u cut at %zu: %s\n", v, cut,
                        tss_is_ok(res) ? "wrong state" : tss_error_detail());
            }
            tss_precord_free(&r);
        }
        CHECK(wrong == 0);
        /* A zero-filled tail (size committed before the data): counts as a
         * torn "-" of unknown id, so every available one is taken. */
        static char z[4096];
        memcpy(z, f.data, f.len);
        memset(z + f.len, 0, 40);
        tss_precord r;
        memset(&r, 0, sizeof r);
        CHECK_OK(tss_precord_parse(z, f.len + 40, &KEY, &r));
        CHECK(r.n_avail == 0 && r.burned == 2 && r.torn == 40);
        tss_precord_free(&r);
        /* A tail that is not the start of a record is damage. */
        memcpy(z + f.len, "+ zz", 4);
        memset(&r, 0, sizeof r);
        CHECK_ERR(tss_precord_parse(z, f.len + 4, &KEY, &r), TSS_E_CORRUPT);
        CHECK(detail_has("line 6: the unfinished last record"));
        tss_precord_free(&r);
    }
}

/* Format 1: a changed "-" id (no checksum) is still refused: it must name
 * an available presignature. */
static void precord_v1_cross_checks(void) {
    record_file f;
    tss_precord_entry e[3];
    build_record(&f, e, 1);
    static char bad[4096];
    memcpy(bad, f.data, f.len);
    bad[f.line_start[3] + 2] = bad[f.line_start[3] + 2] == 'a' ? 'b' : 'a';
    tss_precord r;
    memset(&r, 0, sizeof r);
    CHECK_ERR(tss_precord_parse(bad, f.len, &KEY, &r), TSS_E_CORRUPT);
    CHECK(detail_has("line 5: takes presignature"));
    tss_precord_free(&r);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(keyfile_round_trip);
    RUN(keyfile_chain_code);
    RUN(keyfile_epoch_retired);
    RUN(precord_path);
    RUN(keyfile_every_flip_and_cut);
    RUN(keyfile_cross_checks);
    RUN(precord_round_trip);
    RUN(precord_every_flip);
    RUN(precord_every_cut);
    RUN(precord_v1_cross_checks);
    return harness_finish("coord_files");
}
