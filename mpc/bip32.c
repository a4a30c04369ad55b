#include "mpc/bip32.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>
/* options.h first: it carries the build configuration of the installed library. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ripemd.h>

#include "util/base58.h"

#ifndef WOLFSSL_RIPEMD
#error "wolfSSL must be built with RIPEMD-160 (BIP-32 key fingerprints)"
#endif

#define HARDENED_WHY                                                                       \
    "hardened derivation needs the parent private key, which no party holds (tssd derives " \
    "non-hardened children only)"

tss_result tss_bip32_path_parse(tss_bip32_path *out, const char *text) {
    TSS_ENSURE(text != NULL, TSS_E_INVALID, "derivation path: missing");
    TSS_ENSURE(text[0] == 'm' && (text[1] == '\0' || text[1] == '/'), TSS_E_INVALID,
               "derivation path \"%.40s\": must start with \"m\" (e.g. m/0/7)", text);
    tss_bip32_path p;
    p.depth = 0;
    const char *s = text + 1;
    while (*s) {
        s++; /* '/' */
        TSS_ENSURE(p.depth < TSS_BIP32_MAX_DEPTH, TSS_E_INVALID,
                   "derivation path: deeper than %d levels", TSS_BIP32_MAX_DEPTH);
        unsigned level = p.depth + 1u;
        TSS_ENSURE(*s >= '0' && *s <= '9', TSS_E_INVALID,
                   "derivation path: level %u is not a decimal index", level);
        TSS_ENSURE(!(s[0] == '0' && s[1] >= '0' && s[1] <= '9'), TSS_E_INVALID,
                   "derivation path: level %u has a leading zero", level);
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (uint64_t)(*s - '0');
            s++;
            TSS_ENSURE(v < ((uint64_t)1 << 32) * 10, TSS_E_INVALID,
                       "derivation path: level %u index is too large", level);
        }
        TSS_ENSURE(*s != '\'' && *s != 'h' && *s != 'H', TSS_E_INVALID,
                   "derivation path: level %u is hardened; " HARDENED_WHY, level);
        TSS_ENSURE(v < TSS_BIP32_HARDENED, TSS_E_INVALID,
                   "derivation path: level %u index %llu >= 2^31 is a hardened index; " HARDENED_WHY,
                   level, (unsigned long long)v);
        TSS_ENSURE(*s == '\0' || *s == '/', TSS_E_INVALID,
                   "derivation path: unexpected character after level %u", level);
        TSS_ENSURE(!(*s == '/' && s[1] == '\0'), TSS_E_INVALID,
                   "derivation path: trailing '/'");
        p.index[p.depth++] = (uint32_t)v;
    }
    *out = p;
    return TSS_OK_RESULT;
}

void tss_bip32_path_format(char *out, size_t cap, const tss_bip32_path *p) {
    if (cap == 0) return;
    size_t o = (size_t)snprintf(out, cap, "m");
    for (unsigned i = 0; i < p->depth && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "/%u", (unsigned)p->index[i]);
}

int tss_bip32_path_eq(const tss_bip32_path *a, const tss_bip32_path *b) {
    if (a->depth != b->depth) return 0;
    return memcmp(a->index, b->index, a->depth * sizeof a->index[0]) == 0;
}

void tss_bip32_path_write(tss_writer *w, const tss_bip32_path *p) {
    tss_write_u8(w, p->depth);
    for (unsigned i = 0; i < p->depth; i++) tss_write_u32(w, p->index[i]);
}

tss_result tss_bip32_path_read(tss_reader *rd, tss_bip32_path *out) {
    tss_bip32_path p;
    p.depth = tss_read_u8(rd);
    for (unsigned i = 0; i < p.depth; i++) p.index[i] = tss_read_u32(rd);
    TSS_GUARD(tss_reader_status(rd, "derivation path"));
    for (unsigned i = 0; i < p.depth; i++)
        if (p.index[i] >= TSS_BIP32_HARDENED) {
            tss_reader_set_error(rd, TSS_E_INVALID);
            return tss_fail(TSS_E_INVALID, "derivation path: level %u index %u >= 2^31 is "
                            "hardened; " HARDENED_WHY, i + 1, (unsigned)p.index[i]);
        }
    *out = p;
    return TSS_OK_RESULT;
}

void tss_bip32_root(tss_bip32_node *n, const tss_point *X,
                    const uint8_t chain_code[TSS_BIP32_CHAIN_CODE_BYTES]) {
    memset(n, 0, sizeof *n);
    n->key = *X;
    memcpy(n->chain_code, chain_code, TSS_BIP32_CHAIN_CODE_BYTES);
}

tss_result tss_bip32_fingerprint(uint8_t fp[4], const tss_point *P) {
    uint8_t ser[TSS_PT_BYTES], sha[crypto_hash_sha256_BYTES], rmd[RIPEMD_DIGEST_SIZE];
    tss_pt_encode(ser, P);
    crypto_hash_sha256(sha, ser, sizeof ser);
    RipeMd md;
    int rc = wc_InitRipeMd(&md);
    if (rc == 0) rc = wc_RipeMdUpdate(&md, sha, sizeof sha);
    if (rc == 0) rc = wc_RipeMdFinal(&md, rmd);
    TSS_ENSURE(rc == 0, TSS_E_CRYPTO, "bip32: RIPEMD-160 failed (%d)", rc);
    memcpy(fp, rmd, 4);
    return TSS_OK_RESULT;
}

/* One CKDpub step; the parent fingerprint (two hashes) only when asked:
 * along a path only the last node's is ever serialised. */
static tss_result ckd_step(tss_bip32_node *child, tss_scalar *il, const tss_bip32_node *parent,
                           uint32_t index, bool want_fp) {
    TSS_ENSURE(index < TSS_BIP32_HARDENED, TSS_E_INVALID,
               "bip32: index %u >= 2^31 is hardened; " HARDENED_WHY, (unsigned)index);
    TSS_ENSURE(parent->depth < TSS_BIP32_MAX_DEPTH, TSS_E_INVALID,
               "bip32: a key at depth 255 has no children");
    uint8_t data[TSS_PT_BYTES + 4];
    tss_pt_encode(data, &parent->key);
    data[TSS_PT_BYTES + 0] = (uint8_t)(index >> 24);
    data[TSS_PT_BYTES + 1] = (uint8_t)(index >> 16);
    data[TSS_PT_BYTES + 2] = (uint8_t)(index >> 8);
    data[TSS_PT_BYTES + 3] = (uint8_t)index;
    uint8_t I[crypto_auth_hmacsha512_BYTES];
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, parent->chain_code, TSS_BIP32_CHAIN_CODE_BYTES);
    crypto_auth_hmacsha512_update(&st, data, sizeof data);
    crypto_auth_hmacsha512_final(&st, I);
    tss_scalar l;
    TSS_ENSURE(tss_is_ok(tss_sc_from_bytes(&l, I, "I_L")), TSS_E_INVALID,
               "bip32: index %u gives I_L >= n, an invalid child (BIP-32: use the next index)",
               (unsigned)index);
    tss_bip32_node c;
    memset(&c, 0, sizeof c);
    c.key = parent->key;
    /* K + I_L*G with libsecp256k1's variable-time tweak (all public here): it
     * fails only when the sum is infinity (I_L < n was checked; I_L = 0 leaves
     * K unchanged, a valid child). */
    TSS_ENSURE(secp256k1_ec_pubkey_tweak_add(tss_pt_context(), &c.key.pk, I), TSS_E_INVALID,
               "bip32: index %u gives the point at infinity, an invalid child (BIP-32: use the "
               "next index)", (unsigned)index);
    memcpy(c.chain_code, I + 32, TSS_BIP32_CHAIN_CODE_BYTES);
    c.depth = (uint8_t)(parent->depth + 1);
    c.child_number = index;
    if (want_fp) TSS_GUARD(tss_bip32_fingerprint(c.parent_fp, &parent->key));
    *child = c;
    if (il) *il = l;
    return TSS_OK_RESULT;
}

tss_result tss_bip32_ckd_pub(tss_bip32_node *child, tss_scalar *il, const tss_bip32_node *parent,
                             uint32_t index) {
    return ckd_step(child, il, parent, index, true);
}

tss_result tss_bip32_derive(tss_bip32_node *child, tss_scalar *tweak, const tss_bip32_node *parent,
                            const tss_bip32_path *path) {
    TSS_ENSURE((unsigned)parent->depth + path->depth <= TSS_BIP32_MAX_DEPTH, TSS_E_INVALID,
               "bip32: depth %u + %u levels exceeds %d", (unsigned)parent->depth,
               (unsigned)path->depth, TSS_BIP32_MAX_DEPTH);
    tss_bip32_node n = *parent;
    tss_scalar t, l;
    tss_sc_set_zero(&t);
    for (unsigned i = 0; i < path->depth; i++) {
        TSS_GUARD(ckd_step(&n, &l, &n, path->index[i], i + 1 == path->depth));
        tss_sc_add(&t, &t, &l);
    }
    *child = n;
    if (tweak) *tweak = t;
    return TSS_OK_RESULT;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

tss_result tss_bip32_xpub_encode(char out[TSS_BIP32_XPUB_TEXT], const tss_bip32_node *n,
                                 bool testnet) {
    uint8_t b[TSS_BIP32_XPUB_BYTES];
    put32(b, testnet ? TSS_BIP32_VERSION_TPUB : TSS_BIP32_VERSION_XPUB);
    b[4] = n->depth;
    memcpy(b + 5, n->parent_fp, 4);
    put32(b + 9, n->child_number);
    memcpy(b + 13, n->chain_code, 32);
    tss_pt_encode(b + 45, &n->key);
    return tss_b58check_encode(out, TSS_BIP32_XPUB_TEXT, b, sizeof b);
}

tss_result tss_bip32_xpub_decode(tss_bip32_node *n, bool *testnet, const char *text) {
    uint8_t b[TSS_BIP32_XPUB_BYTES];
    TSS_GUARD(tss_b58check_decode(b, sizeof b, text, strnlen(text, TSS_B58_MAX_TEXT),
                                  "extended public key"));
    uint32_t version = get32(b);
    TSS_ENSURE(version != 0x0488ADE4u && version != 0x04358394u, TSS_E_INVALID,
               "extended key: this is a private key (xprv/tprv); give the public one (xpub/tpub)");
    TSS_ENSURE(version == TSS_BIP32_VERSION_XPUB || version == TSS_BIP32_VERSION_TPUB,
               TSS_E_INVALID, "extended key: unknown version 0x%08x (expected xpub or tpub)",
               (unsigned)version);
    tss_bip32_node r;
    memset(&r, 0, sizeof r);
    r.depth = b[4];
    memcpy(r.parent_fp, b + 5, 4);
    r.child_number = get32(b + 9);
    static const uint8_t zero4[4];
    TSS_ENSURE(r.depth != 0 || (memcmp(r.parent_fp, zero4, 4) == 0 && r.child_number == 0),
               TSS_E_INVALID,
               "extended key: depth 0 with a non-zero parent fingerprint or child number");
    memcpy(r.chain_code, b + 13, 32);
    TSS_ENSURE(b[45] == 0x02 || b[45] == 0x03, TSS_E_INVALID,
               "extended key: the key must be a compressed public key (0x02/0x03), not 0x%02x",
               b[45]);
    TSS_GUARD(tss_pt_decode(&r.key, b + 45, "extended key: public key"));
    *n = r;
    if (testnet) *testnet = version == TSS_BIP32_VERSION_TPUB;
    return TSS_OK_RESULT;
}
