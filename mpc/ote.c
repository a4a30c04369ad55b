#include "mpc/ote.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/ote_transpose.h"
#include "mpc/prg.h"
#include "util/ctime.h"
#include "util/secmem.h"

#define TAG_SID "tssd/ote/sid/v1"
#define TAG_PRG "tssd/ote/prg/v1"
#define TAG_CHI "tssd/ote/chi/v1"

static const uint8_t rot_personal[crypto_generichash_blake2b_PERSONALBYTES] = "tssd-ote-rot-v1";

_Static_assert(sizeof(tss_ote_msg) ==
                   TSS_OTE_KAPPA * TSS_OTE_COL_BYTES + TSS_GF128_BYTES +
                       TSS_OTE_KAPPA * TSS_GF128_BYTES,
               "tss_ote_msg must be unpadded");
_Static_assert(TSS_OTE_COL_BYTES == (TSS_OTE_CHECK_BLOCKS + 1) * TSS_GF128_BYTES,
               "a column is the checked blocks plus one padding block");

/* All-ones if bit k of s is set, else zero (no branch). */
static inline uint64_t bit_mask64(const uint8_t *s, size_t k) {
    return (uint64_t)0 - (uint64_t)((s[k >> 3] >> (k & 7)) & 1);
}

tss_result tss_ote_ctx_init(tss_ote_ctx *ctx, const uint8_t keygen_sid[TSS_OTE_SID_BYTES],
                            const uint8_t sign_sid[TSS_OTE_SID_BYTES], uint16_t sender_id,
                            uint16_t receiver_id) {
    TSS_ENSURE(sender_id != 0 && receiver_id != 0, TSS_E_USAGE, "OT extension: party id 0");
    TSS_ENSURE(sender_id != receiver_id, TSS_E_USAGE,
               "OT extension: sender and receiver are both party %u", sender_id);
    uint8_t ids[4] = {(uint8_t)(sender_id >> 8), (uint8_t)sender_id, (uint8_t)(receiver_id >> 8),
                      (uint8_t)receiver_id};
    tss_prg_field f[3] = {{keygen_sid, TSS_OTE_SID_BYTES}, {sign_sid, TSS_OTE_SID_BYTES}, {ids, 4}};
    tss_prg_derive(ctx->sid, TAG_SID, f, 3);
    ctx->sender_id = sender_id;
    ctx->receiver_id = receiver_id;
    return TSS_OK_RESULT;
}

void tss_ote_challenges(const tss_ote_ctx *ctx, const tss_ote_msg *msg,
                        tss_gf128 chi[TSS_OTE_CHECK_BLOCKS]) {
    uint8_t d[TSS_OTE_CHECK_BLOCKS * TSS_GF128_BYTES];
    tss_ote_hash h;
    _Static_assert(sizeof d <= crypto_generichash_blake2b_BYTES_MAX, "chi fits one digest");
    tss_ote_hash_init(&h, sizeof d, TAG_CHI, ctx->sid);
    tss_ote_hash_u32(&h, ctx->sender_id);
    tss_ote_hash_u32(&h, ctx->receiver_id);
    tss_ote_hash_field(&h, msg->u, sizeof msg->u);
    tss_ote_hash_final(&h, d);
    for (size_t b = 0; b < TSS_OTE_CHECK_BLOCKS; b++)
        tss_gf128_from_bytes(&chi[b], d + b * TSS_GF128_BYTES);
}

/* sum_b chi_b * col[b] + col[4], the universal hash of one 640-bit column. */
static void check_hash(tss_gf128 *r, const tss_gf128 chi[TSS_OTE_CHECK_BLOCKS],
                       const uint8_t col[TSS_OTE_COL_BYTES]) {
    tss_gf128 blk[TSS_OTE_CHECK_BLOCKS], pad;
    for (size_t b = 0; b < TSS_OTE_CHECK_BLOCKS; b++)
        tss_gf128_from_bytes(&blk[b], col + b * TSS_GF128_BYTES);
    tss_gf128_from_bytes(&pad, col + TSS_OTE_CHECK_BLOCKS * TSS_GF128_BYTES);
    tss_gf128_dot(r, chi, blk, TSS_OTE_CHECK_BLOCKS);
    r->lo ^= pad.lo;
    r->hi ^= pad.hi;
    tss_wipe(blk, sizeof blk);
    tss_wipe(&pad, sizeof pad);
}

/* Random-OT messages from 256-bit rows. A correlation-robust hash breaks the
 * Delta correlation between the two messages of an OT:
 *   h_j = BLAKE2b-512(personal "tssd-ote-rot-v1", salt = u32be j, sid || row_j)
 *   message_j = h_j[32..64) || ChaCha20(key h_j[0..32), nonce 0)[0..64)
 * One hash per message (the cost that dominates a run) and one ChaCha block,
 * both computed several messages at a time.
 *
 * The hash input is exactly 64 bytes, so each h_j is a single BLAKE2b
 * compression (RFC 7693) of one zero-padded final block, with the parameter
 * block (digest length 64, fanout 1, depth 1, salt, personal) folded into the
 * initial state. It is computed here for 4 messages at a time in 64-bit
 * vector lanes (AVX2 when the CPU has it); the result is byte for byte that
 * of libsodium's crypto_generichash_blake2b_salt_personal. */
typedef uint64_t v4u64 __attribute__((vector_size(32)));

static const uint64_t blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static const uint8_t blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static inline uint64_t load64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline void store64_le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

typedef uint8_t v32u8 __attribute__((vector_size(32)));

/* Rotation right of each 64-bit lane. With byte_perm (AVX2: no 64-bit
 * rotate instruction, but a byte shuffle) the rotations by whole bytes are
 * one permutation; otherwise shifts (AVX-512VL turns them into vprorq). */
#define ROT_IDX(k)                                                                \
    {(0 + k) & 7,       (1 + k) & 7,       (2 + k) & 7,       (3 + k) & 7,       \
     (4 + k) & 7,       (5 + k) & 7,       (6 + k) & 7,       (7 + k) & 7,       \
     8 | ((0 + k) & 7), 8 | ((1 + k) & 7), 8 | ((2 + k) & 7), 8 | ((3 + k) & 7), \
     8 | ((4 + k) & 7), 8 | ((5 + k) & 7), 8 | ((6 + k) & 7), 8 | ((7 + k) & 7), \
     16 | ((0 + k) & 7), 16 | ((1 + k) & 7), 16 | ((2 + k) & 7), 16 | ((3 + k) & 7), \
     16 | ((4 + k) & 7), 16 | ((5 + k) & 7), 16 | ((6 + k) & 7), 16 | ((7 + k) & 7), \
     24 | ((0 + k) & 7), 24 | ((1 + k) & 7), 24 | ((2 + k) & 7), 24 | ((3 + k) & 7), \
     24 | ((4 + k) & 7), 24 | ((5 + k) & 7), 24 | ((6 + k) & 7), 24 | ((7 + k) & 7)}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(__clang__) /* GCC's __builtin_shuffle */
#define rotr64(x, r, byte_perm)                                                   \
    __extension__({                                                               \
        v4u64 rot_x_ = (x), rot_r_;                                               \
        if ((byte_perm) && (r) % 8 == 0) {                                        \
            const v32u8 rot_i_ = ROT_IDX((r) / 8);                                \
            rot_r_ = (v4u64)__builtin_shuffle((v32u8)rot_x_, rot_i_);             \
        } else {                                                                  \
            rot_r_ = (rot_x_ >> (r)) | (rot_x_ << (64 - (r)));                    \
        }                                                                         \
        rot_r_;                                                                   \
    })
#else
#define rotr64(x, r, byte_perm) (((x) >> (r)) | ((x) << (64 - (r))))
#endif

#define B2B_G(a, b, c, d, x, y)                                                   \
    do {                                                                          \
        a = a + b + (x);                                                          \
        d = rotr64(d ^ a, 32, byte_perm);                                         \
        c = c + d;                                                                \
        b = rotr64(b ^ c, 24, byte_perm);                                         \
        a = a + b + (y);                                                          \
        d = rotr64(d ^ a, 16, byte_perm);                                         \
        c = c + d;                                                                \
        b = rotr64(b ^ c, 63, byte_perm);                                         \
    } while (0)

/* Messages j0 .. j0+n-1 (n <= 4): digest l to keys[l] (first 32 bytes) and
 * out[l] (last 32 bytes). Lanes beyond n hash row 0 and are discarded. */
static inline __attribute__((always_inline)) void rot_hash4(
    uint8_t (*out)[TSS_OTE_MSG_BYTES], uint8_t (*keys)[TSS_PRG_SEED_BYTES],
    const uint8_t sid[TSS_OTE_SID_BYTES], const uint8_t (*rows)[TSS_OTE_KAPPA_BYTES], size_t j0,
    size_t n, int byte_perm) {
    uint64_t lanes[16][4];
    v4u64 m[8], h[8], v[16];
    (void)byte_perm; /* unused where rotr64 has no byte-permutation form */
    /* message words: sid (same in every lane), then the row */
    for (size_t w = 0; w < 4; w++) m[w] = (v4u64){0} + load64_le(sid + 8 * w);
    for (size_t l = 0; l < 4; l++) {
        const uint8_t *row = rows[l < n ? l : 0];
        uint8_t salt[8] = {0};
        uint32_t j = (uint32_t)(j0 + (l < n ? l : 0));
        salt[0] = (uint8_t)(j >> 24);
        salt[1] = (uint8_t)(j >> 16);
        salt[2] = (uint8_t)(j >> 8);
        salt[3] = (uint8_t)j;
        for (size_t w = 0; w < 4; w++) lanes[w][l] = load64_le(row + 8 * w);
        lanes[4][l] = load64_le(salt); /* salt bytes 8..16 are zero */
    }
    for (size_t w = 0; w < 4; w++) memcpy(&m[4 + w], lanes[w], sizeof m[0]);
    /* h = IV ^ parameter block: digest length 64, key length 0, fanout 1,
     * depth 1; salt at bytes 32..48, personal at 48..64. */
    h[0] = (v4u64){0} + (uint64_t)(blake2b_iv[0] ^ 0x01010040u);
    for (size_t w = 1; w < 4; w++) h[w] = (v4u64){0} + blake2b_iv[w];
    memcpy(&h[4], lanes[4], sizeof h[4]);
    h[4] ^= blake2b_iv[4];
    h[5] = (v4u64){0} + blake2b_iv[5];
    h[6] = (v4u64){0} + (uint64_t)(blake2b_iv[6] ^ load64_le(rot_personal));
    h[7] = (v4u64){0} + (uint64_t)(blake2b_iv[7] ^ load64_le(rot_personal + 8));
    for (size_t w = 0; w < 8; w++) v[w] = h[w];
    for (size_t w = 0; w < 8; w++) v[8 + w] = (v4u64){0} + blake2b_iv[w];
    v[12] ^= (uint64_t)(TSS_OTE_SID_BYTES + TSS_OTE_KAPPA_BYTES); /* t = 64 bytes */
    v[14] = ~v[14];                                               /* final block */
    const v4u64 zero = {0};
#define MW(i) (s[i] < 8 ? m[s[i]] : zero) /* words 8..15 are the zero padding */
    /* Fully unrolled, the schedule is constant: no indexing of m at run time. */
#pragma GCC unroll 12
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = blake2b_sigma[r];
        B2B_G(v[0], v[4], v[8], v[12], MW(0), MW(1));
        B2B_G(v[1], v[5], v[9], v[13], MW(2), MW(3));
        B2B_G(v[2], v[6], v[10], v[14], MW(4), MW(5));
        B2B_G(v[3], v[7], v[11], v[15], MW(6), MW(7));
        B2B_G(v[0], v[5], v[10], v[15], MW(8), MW(9));
        B2B_G(v[1], v[6], v[11], v[12], MW(10), MW(11));
        B2B_G(v[2], v[7], v[8], v[13], MW(12), MW(13));
        B2B_G(v[3], v[4], v[9], v[14], MW(14), MW(15));
    }
#undef MW
    for (size_t w = 0; w < 8; w++) {
        h[w] ^= v[w] ^ v[8 + w];
        memcpy(lanes[w], &h[w], sizeof h[w]);
    }
    for (size_t l = 0; l < n && l < 4; l++) {
        for (size_t w = 0; w < 4; w++) store64_le(keys[l] + 8 * w, lanes[w][l]);
        for (size_t w = 0; w < 4; w++) store64_le(out[l] + 8 * w, lanes[4 + w][l]);
    }
    sodium_memzero(lanes, sizeof lanes);
    sodium_memzero(m, sizeof m);
    sodium_memzero(h, sizeof h);
    sodium_memzero(v, sizeof v);
}

/* Without the vector units: one libsodium call per message. */
static void rot_hash_generic(uint8_t (*out)[TSS_OTE_MSG_BYTES], uint8_t (*keys)[TSS_PRG_SEED_BYTES],
                             const uint8_t sid[TSS_OTE_SID_BYTES],
                             const uint8_t (*rows)[TSS_OTE_KAPPA_BYTES], size_t n) {
    uint8_t in[TSS_OTE_SID_BYTES + TSS_OTE_KAPPA_BYTES], h[64];
    uint8_t salt[crypto_generichash_blake2b_SALTBYTES] = {0};
    memcpy(in, sid, TSS_OTE_SID_BYTES);
    for (size_t j = 0; j < n; j++) {
        salt[0] = (uint8_t)(j >> 24);
        salt[1] = (uint8_t)(j >> 16);
        salt[2] = (uint8_t)(j >> 8);
        salt[3] = (uint8_t)j;
        memcpy(in + TSS_OTE_SID_BYTES, rows[j], TSS_OTE_KAPPA_BYTES);
        crypto_generichash_blake2b_salt_personal(h, sizeof h, in, sizeof in, NULL, 0, salt,
                                                 rot_personal);
        memcpy(keys[j], h, TSS_PRG_SEED_BYTES);
        memcpy(out[j], h + TSS_PRG_SEED_BYTES, sizeof h - TSS_PRG_SEED_BYTES);
    }
    tss_wipe(in, sizeof in);
    tss_wipe(h, sizeof h);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void rot_hash_avx2(
    uint8_t (*out)[TSS_OTE_MSG_BYTES], uint8_t (*keys)[TSS_PRG_SEED_BYTES],
    const uint8_t sid[TSS_OTE_SID_BYTES], const uint8_t (*rows)[TSS_OTE_KAPPA_BYTES], size_t n) {
    for (size_t j = 0; j < n; j += 4) rot_hash4(out + j, keys + j, sid, rows + j, j, n - j, 1);
}

__attribute__((target("avx2,avx512f,avx512vl"))) static void rot_hash_avx512(
    uint8_t (*out)[TSS_OTE_MSG_BYTES], uint8_t (*keys)[TSS_PRG_SEED_BYTES],
    const uint8_t sid[TSS_OTE_SID_BYTES], const uint8_t (*rows)[TSS_OTE_KAPPA_BYTES], size_t n) {
    for (size_t j = 0; j < n; j += 4) rot_hash4(out + j, keys + j, sid, rows + j, j, n - j, 0);
}

/* 2: AVX-512VL, 1: AVX2, 0: neither. */
static int simd_level(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? 2
            : __builtin_cpu_supports("avx2")                                     ? 1
                                                                                 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

static void rot_messages(uint8_t (*out)[TSS_OTE_MSG_BYTES], uint8_t (*keys)[TSS_PRG_SEED_BYTES],
                         const tss_ote_ctx *ctx, const uint8_t (*rows)[TSS_OTE_KAPPA_BYTES],
                         size_t n) {
    static const uint8_t zero_nonce[TSS_PRG_NONCE_BYTES];
    _Static_assert(TSS_OTE_MSG_BYTES >= 32, "the digest's second half starts a message");
#if defined(__x86_64__)
    int level = simd_level();
    if (level == 2)
        rot_hash_avx512(out, keys, ctx->sid, rows, n);
    else if (level == 1)
        rot_hash_avx2(out, keys, ctx->sid, rows, n);
    else
#endif
        rot_hash_generic(out, keys, ctx->sid, rows, n);
    tss_prg_expand_many(&out[0][32], TSS_OTE_MSG_BYTES, TSS_OTE_MSG_BYTES - 32,
                        (const uint8_t(*)[TSS_PRG_SEED_BYTES])keys, n, zero_nonce);
}

/* Ephemeral secret scratch of one run, from the secret pool (util/secmem.h):
 * guarded, locked and wiped on release, without a sodium_malloc (~45 us) per
 * run. */
typedef struct {
    uint8_t x[TSS_OTE_COL_BYTES];
    uint8_t col[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
    uint8_t col1[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
    uint8_t row[TSS_OTE_XI][TSS_OTE_KAPPA_BYTES];
    uint8_t row1[TSS_OTE_XI][TSS_OTE_KAPPA_BYTES];
    uint8_t key[TSS_OTE_XI][TSS_PRG_SEED_BYTES];
} ote_scratch;

static ote_scratch *scratch_new(void) { return tss_secret_pool_get(sizeof(ote_scratch)); }

static void scratch_free(ote_scratch *s) { tss_secret_pool_put(s, sizeof *s); }

tss_result tss_ote_receive(const tss_ote_ctx *ctx, const tss_ote_receiver_seeds *seeds,
                           const uint8_t choices[TSS_OTE_XI_BYTES], tss_ote_msg *msg,
                           uint8_t (*out)[TSS_OTE_MSG_BYTES]) {
    ote_scratch *s = scratch_new();
    TSS_ENSURE(s != NULL, TSS_E_NOMEM, "OT extension: no memory for the receiver");
    uint8_t nonce[TSS_PRG_NONCE_BYTES];
    tss_prg_nonce(nonce, TAG_PRG, ctx->sid, TSS_OTE_SID_BYTES);

    /* x = choices || random padding: the padding block masks x~. */
    memcpy(s->x, choices, TSS_OTE_XI_BYTES);
    randombytes_buf(s->x + TSS_OTE_XI_BYTES, TSS_OTE_COL_BYTES - TSS_OTE_XI_BYTES);

    /* t_i = PRG(k0_i), u_i = t_i ^ PRG(k1_i) ^ x */
    tss_prg_expand_many(&s->col[0][0], TSS_OTE_COL_BYTES, TSS_OTE_COL_BYTES, seeds->seed[0],
                        TSS_OTE_KAPPA, nonce);
    tss_prg_expand_many(&s->col1[0][0], TSS_OTE_COL_BYTES, TSS_OTE_COL_BYTES, seeds->seed[1],
                        TSS_OTE_KAPPA, nonce);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++)
        for (size_t k = 0; k < TSS_OTE_COL_BYTES; k++)
            msg->u[i][k] = s->col[i][k] ^ s->col1[i][k] ^ s->x[k];

    tss_gf128 chi[TSS_OTE_CHECK_BLOCKS], v;
    tss_ote_challenges(ctx, msg, chi);
    check_hash(&v, chi, s->x);
    tss_gf128_to_bytes(msg->x, &v);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        check_hash(&v, chi, s->col[i]);
        tss_gf128_to_bytes(msg->t[i], &v);
    }

    tss_ote_transpose(s->row, (const uint8_t(*)[TSS_OTE_COL_BYTES])s->col, TSS_OTE_XI);
    rot_messages(out, s->key, ctx, (const uint8_t(*)[TSS_OTE_KAPPA_BYTES])s->row, TSS_OTE_XI);

    tss_wipe(&v, sizeof v);
    scratch_free(s);
    return TSS_OK_RESULT;
}

tss_result tss_ote_send(const tss_ote_ctx *ctx, const tss_ote_sender_seeds *seeds,
                        const tss_ote_msg *msg, uint8_t (*v0)[TSS_OTE_MSG_BYTES],
                        uint8_t (*v1)[TSS_OTE_MSG_BYTES]) {
    ote_scratch *s = scratch_new();
    TSS_ENSURE(s != NULL, TSS_E_NOMEM, "OT extension: no memory for the sender");
    uint8_t nonce[TSS_PRG_NONCE_BYTES];
    tss_prg_nonce(nonce, TAG_PRG, ctx->sid, TSS_OTE_SID_BYTES);

    /* w_i = PRG(k_{Delta_i, i}) ^ Delta_i * u_i = t_i ^ Delta_i * x */
    tss_prg_expand_many(&s->col[0][0], TSS_OTE_COL_BYTES, TSS_OTE_COL_BYTES, seeds->seed,
                        TSS_OTE_KAPPA, nonce);
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        uint8_t m = (uint8_t)bit_mask64(seeds->delta, i);
        for (size_t k = 0; k < TSS_OTE_COL_BYTES; k++) s->col[i][k] ^= msg->u[i][k] & m;
    }

    /* Every column must satisfy hash(w_i) == t~_i ^ Delta_i * x~. Accumulate
     * the differences without branching: which column failed would reveal a
     * Delta bit, so only the overall outcome is used. */
    tss_gf128 chi[TSS_OTE_CHECK_BLOCKS], q, t, x;
    tss_ote_challenges(ctx, msg, chi);
    tss_gf128_from_bytes(&x, msg->x);
    uint64_t diff = 0;
    for (size_t i = 0; i < TSS_OTE_KAPPA; i++) {
        uint64_t m = bit_mask64(seeds->delta, i);
        check_hash(&q, chi, s->col[i]);
        tss_gf128_from_bytes(&t, msg->t[i]);
        diff |= (q.lo ^ t.lo ^ (x.lo & m)) | (q.hi ^ t.hi ^ (x.hi & m));
    }
    tss_wipe(&q, sizeof q);
    /* Only pass/fail is revealed, and it is public by design: a failure
     * aborts the session visibly and the caller bans the receiver. The bit
     * is computed without a comparison the compiler could turn into a
     * branch on diff. */
    uint64_t fail = (diff | ((uint64_t)0 - diff)) >> 63;
    tss_declassify(&fail, sizeof fail);
    if (fail) {
        scratch_free(s);
        return tss_fail(TSS_E_PROTOCOL,
                        "OT extension: consistency check failed for receiver party %u "
                        "(ban this peer for the key)",
                        ctx->receiver_id);
    }

    /* v0_j from W_j, v1_j from W_j ^ Delta */
    tss_ote_transpose(s->row, (const uint8_t(*)[TSS_OTE_COL_BYTES])s->col, TSS_OTE_XI);
    for (size_t j = 0; j < TSS_OTE_XI; j++)
        for (size_t k = 0; k < TSS_OTE_KAPPA_BYTES; k++)
            s->row1[j][k] = s->row[j][k] ^ seeds->delta[k];
    rot_messages(v0, s->key, ctx, (const uint8_t(*)[TSS_OTE_KAPPA_BYTES])s->row, TSS_OTE_XI);
    rot_messages(v1, s->key, ctx, (const uint8_t(*)[TSS_OTE_KAPPA_BYTES])s->row1, TSS_OTE_XI);
    scratch_free(s);
    return TSS_OK_RESULT;
}

void tss_ote_msg_write(tss_writer *w, const tss_ote_msg *msg) {
    tss_write_bytes(w, msg->u, sizeof msg->u);
    tss_write_bytes(w, msg->x, sizeof msg->x);
    tss_write_bytes(w, msg->t, sizeof msg->t);
}

void tss_ote_msg_read_fields(tss_reader *r, tss_ote_msg *msg) {
    tss_read_bytes(r, &msg->u[0][0], sizeof msg->u);
    tss_read_bytes(r, msg->x, sizeof msg->x);
    tss_read_bytes(r, &msg->t[0][0], sizeof msg->t);
}

tss_result tss_ote_msg_decode(tss_ote_msg *msg, const uint8_t *in, size_t len) {
    tss_reader r;
    tss_reader_init(&r, in, len);
    tss_ote_msg_read_fields(&r, msg);
    return tss_reader_finish(&r, "OT extension message");
}
