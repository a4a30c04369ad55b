#include "mpc/keyshare.h"

#include <string.h>

#include "util/secmem.h"

tss_result tss_keyshare_new(tss_keyshare **out, uint16_t n) {
    TSS_ENSURE(n >= 1 && n <= TSS_MPC_MAX_PARTIES, TSS_E_INVALID, "party count %u out of range",
               n);
    tss_keyshare *ks = tss_secret_alloc(sizeof *ks);
    TSS_ENSURE(ks, TSS_E_NOMEM, "secret memory allocation failed");
    memset(ks, 0, sizeof *ks);
    ks->peers = tss_secret_alloc(n * sizeof *ks->peers);
    if (!ks->peers) {
        tss_secret_free(ks);
        return tss_fail(TSS_E_NOMEM, "secret memory allocation failed");
    }
    memset(ks->peers, 0, n * sizeof *ks->peers);
    ks->n = n;
    *out = ks;
    return TSS_OK_RESULT;
}

void tss_keyshare_free(tss_keyshare *ks) {
    if (!ks) return;
    tss_secret_free(ks->peers);
    tss_secret_free(ks);
}

int tss_keyshare_index(const tss_keyshare *ks, uint16_t party) {
    for (int k = 0; k < ks->n; k++)
        if (ks->parties[k] == party) return k;
    return -1;
}

tss_result tss_key_id_check(const char *key_id) {
    size_t len = strnlen(key_id, TSS_KEY_ID_MAX + 1);
    TSS_ENSURE(len >= 1 && len <= TSS_KEY_ID_MAX, TSS_E_INVALID,
               "key id must be 1..%d characters", TSS_KEY_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = key_id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        TSS_ENSURE(ok, TSS_E_INVALID, "key id may contain only letters, digits, '.', '_', '-'");
    }
    return TSS_OK_RESULT;
}

tss_result tss_lagrange_at_zero(tss_scalar *out, uint16_t id, const uint16_t *ids,
                                size_t count) {
    tss_scalar num, den, xi, xj, diff;
    tss_sc_set_one(&num);
    tss_sc_set_one(&den);
    tss_sc_set_u64(&xi, id);
    bool found = false;
    for (size_t k = 0; k < count; k++) {
        if (ids[k] == id) {
            found = true;
            continue;
        }
        tss_sc_set_u64(&xj, ids[k]);
        tss_sc_mul(&num, &num, &xj);    /* prod x_j */
        tss_sc_sub(&diff, &xj, &xi);    /* prod (x_j - x_i) */
        TSS_ENSURE(!tss_sc_is_zero(&diff), TSS_E_INVALID, "duplicate party id %u", ids[k]);
        tss_sc_mul(&den, &den, &diff);
    }
    TSS_ENSURE(found, TSS_E_INVALID, "party %u is not in the set", id);
    tss_sc_inv(&den, &den);
    tss_sc_mul(out, &num, &den);
    return TSS_OK_RESULT;
}

tss_result tss_keyshare_encode(const tss_keyshare *ks, tss_writer *w) {
    size_t id_len = strlen(ks->key_id);
    tss_write_bytes(w, TSS_KEYSHARE_MAGIC, 8);
    tss_write_u8(w, TSS_KEYSHARE_VERSION);
    tss_write_var(w, ks->key_id, id_len);
    tss_write_u16(w, ks->self);
    tss_write_u16(w, ks->threshold);
    tss_write_u16(w, ks->n);
    for (int k = 0; k < ks->n; k++) tss_write_u16(w, ks->parties[k]);
    uint8_t x[TSS_SC_BYTES];
    tss_sc_to_bytes(x, &ks->x);
    tss_write_bytes(w, x, sizeof x);
    tss_wipe(x, sizeof x);
    tss_pt_write(w, &ks->X);
    for (int k = 0; k < ks->n; k++) tss_pt_write(w, &ks->X_j[k]);
    tss_write_bytes(w, ks->chain_code, sizeof ks->chain_code);
    tss_write_bytes(w, ks->keygen_sid, sizeof ks->keygen_sid);
    tss_write_u32(w, ks->banned);
    for (int k = 0; k < ks->n; k++) {
        if (ks->parties[k] == ks->self) continue;
        const tss_keyshare_peer *p = &ks->peers[k];
        tss_write_bytes(w, p->zero_seed, sizeof p->zero_seed);
        tss_write_bytes(w, &p->ote_recv, sizeof p->ote_recv);
        tss_write_bytes(w, &p->ote_send, sizeof p->ote_send);
    }
    tss_write_u32(w, ks->epoch);
    return tss_writer_status(w, "key share");
}

static tss_result check_structure(const tss_keyshare *ks) {
    TSS_ENSURE(ks->n >= 2 && ks->n <= TSS_MPC_MAX_PARTIES, TSS_E_CORRUPT,
               "key share: party count %u out of range 2..%d", ks->n, TSS_MPC_MAX_PARTIES);
    TSS_ENSURE(ks->threshold >= 2 && ks->threshold <= ks->n, TSS_E_CORRUPT,
               "key share: threshold %u out of range 2..%u", ks->threshold, ks->n);
    for (int k = 0; k < ks->n; k++) {
        TSS_ENSURE(ks->parties[k] >= 1 && ks->parties[k] <= TSS_MPC_MAX_PARTIES, TSS_E_CORRUPT,
                   "key share: party id %u out of range", ks->parties[k]);
        TSS_ENSURE(k == 0 || ks->parties[k] > ks->parties[k - 1], TSS_E_CORRUPT,
                   "key share: party ids not strictly ascending");
    }
    TSS_ENSURE(tss_keyshare_index(ks, ks->self) >= 0, TSS_E_CORRUPT,
               "key share: own id %u is not among the parties", ks->self);
    /* n may be 32, the width of banned: a shift by 32 would be undefined. */
    uint32_t valid = ks->n >= 32 ? UINT32_MAX : (UINT32_C(1) << ks->n) - 1;
    TSS_ENSURE((ks->banned & ~valid) == 0, TSS_E_CORRUPT, "key share: ban list out of range");
    TSS_ENSURE(!(ks->banned >> tss_keyshare_index(ks, ks->self) & 1), TSS_E_CORRUPT,
               "key share: the ban list names this party itself");
    return TSS_OK_RESULT;
}

/* The public shares must lie on one polynomial of degree t-1 through X:
 * interpolating any t of them gives X, so checking the first t against X and
 * every other share against the first t catches any inconsistency. */
static tss_result check_public_shares(const tss_keyshare *ks) {
    tss_scalar lambda[TSS_MPC_MAX_PARTIES];
    tss_point interp;
    const uint16_t *ids = ks->parties;
    size_t t = ks->threshold;
    for (size_t k = 0; k < t; k++) TSS_GUARD(tss_lagrange_at_zero(&lambda[k], ids[k], ids, t));
    TSS_GUARD(tss_pt_lincomb_var(&interp, lambda, ks->X_j, t));
    TSS_ENSURE(tss_pt_eq(&interp, &ks->X), TSS_E_CORRUPT,
               "key share: public shares do not interpolate to the public key");
    for (size_t extra = t; extra < ks->n; extra++) {
        /* Lagrange at x = ids[extra] over the first t ids. */
        tss_scalar at, num, den, xe, xj, xm, d;
        tss_sc_set_u64(&xe, ids[extra]);
        for (size_t k = 0; k < t; k++) {
            tss_sc_set_one(&num);
            tss_sc_set_one(&den);
            tss_sc_set_u64(&xj, ids[k]);
            for (size_t m = 0; m < t; m++) {
                if (m == k) continue;
                tss_sc_set_u64(&xm, ids[m]);
                tss_sc_sub(&d, &xe, &xm);
                tss_sc_mul(&num, &num, &d);
                tss_sc_sub(&d, &xj, &xm);
                tss_sc_mul(&den, &den, &d);
            }
            tss_sc_inv(&den, &den);
            tss_sc_mul(&at, &num, &den);
            lambda[k] = at;
        }
        TSS_GUARD(tss_pt_lincomb_var(&interp, lambda, ks->X_j, t));
        TSS_ENSURE(tss_pt_eq(&interp, &ks->X_j[extra]), TSS_E_CORRUPT,
                   "key share: public share of party %u is inconsistent", ids[extra]);
    }
    return TSS_OK_RESULT;
}

tss_result tss_keyshare_decode(tss_keyshare **out, const uint8_t *in, size_t len) {
    tss_reader r;
    tss_reader_init(&r, in, len);
    const uint8_t *magic = tss_read_view(&r, 8);
    TSS_ENSURE(magic && memcmp(magic, TSS_KEYSHARE_MAGIC, 8) == 0, TSS_E_CORRUPT,
               "not a tssd key share (bad magic)");
    uint8_t version = tss_read_u8(&r);
    TSS_ENSURE(r.err || version == 1 || version == TSS_KEYSHARE_VERSION, TSS_E_UNSUPPORTED,
               "key share format version %u is not supported", version);
    size_t id_len;
    const uint8_t *id = tss_read_var(&r, TSS_KEY_ID_MAX, &id_len);
    uint16_t self = tss_read_u16(&r), t = tss_read_u16(&r), n = tss_read_u16(&r);
    TSS_GUARD(tss_reader_status(&r, "key share"));
    TSS_ENSURE(n >= 2 && n <= TSS_MPC_MAX_PARTIES, TSS_E_CORRUPT,
               "key share: party count %u out of range 2..%d", n, TSS_MPC_MAX_PARTIES);
    tss_keyshare *ks;
    TSS_GUARD(tss_keyshare_new(&ks, n));
    memcpy(ks->key_id, id, id_len);
    ks->key_id[id_len] = '\0';
    ks->self = self;
    ks->threshold = t;
    for (int k = 0; k < n; k++) ks->parties[k] = tss_read_u16(&r);
    tss_result res = tss_key_id_check(ks->key_id);
    if (tss_is_ok(res)) res = tss_reader_status(&r, "key share");
    if (tss_is_ok(res)) res = check_structure(ks);
    uint8_t x[TSS_SC_BYTES];
    tss_read_bytes(&r, x, sizeof x);
    if (tss_is_ok(res)) res = tss_sc_from_bytes(&ks->x, x, "key share secret");
    tss_wipe(x, sizeof x);
    if (tss_is_ok(res)) res = tss_pt_read(&r, &ks->X, "key share public key");
    for (int k = 0; k < n && tss_is_ok(res); k++)
        res = tss_pt_read(&r, &ks->X_j[k], "key share public share");
    tss_read_bytes(&r, ks->chain_code, sizeof ks->chain_code);
    tss_read_bytes(&r, ks->keygen_sid, sizeof ks->keygen_sid);
    ks->banned = tss_read_u32(&r);
    for (int k = 0; k < n && tss_is_ok(res); k++) {
        if (ks->parties[k] == ks->self) continue;
        tss_keyshare_peer *p = &ks->peers[k];
        tss_read_bytes(&r, p->zero_seed, sizeof p->zero_seed);
        tss_read_bytes(&r, (uint8_t *)&p->ote_recv, sizeof p->ote_recv);
        tss_read_bytes(&r, (uint8_t *)&p->ote_send, sizeof p->ote_send);
    }
    if (version >= 2) ks->epoch = tss_read_u32(&r); /* version 1: epoch 0 (calloc) */
    if (tss_is_ok(res)) res = tss_reader_finish(&r, "key share");
    if (tss_is_ok(res)) res = check_structure(ks);
    if (tss_is_ok(res)) {
        tss_point mine;
        res = tss_pt_mul_base(&mine, &ks->x);
        if (tss_is_ok(res) && !tss_pt_eq(&mine, &ks->X_j[tss_keyshare_index(ks, ks->self)]))
            res = tss_fail(TSS_E_CORRUPT, "key share: secret does not match own public share");
    }
    if (tss_is_ok(res)) res = check_public_shares(ks);
    if (!tss_is_ok(res)) {
        tss_keyshare_free(ks);
        return res;
    }
    *out = ks;
    return TSS_OK_RESULT;
}
