/* BIP-32 public (non-hardened) derivation over a threshold key.
 *
 * The root extended public key is (X, chain code) from the DKG, at depth 0.
 * CKDpub: I = HMAC-SHA512(c, ser_P(K) || ser_32(i)), I_L, I_R = I[0..32],
 * I[32..64]; child key K + I_L*G, child chain code I_R. Along a path the I_L
 * add up to the additive tweak t with child = X + t*G: the signers apply t to
 * one designated additive share (mpc/sign.h). Only non-hardened indices
 * (i < 2^31) exist here: a hardened child hashes the parent's private key,
 * which no party holds. Every value here is public (variable time is fine).
 *
 * Extended public keys (xpub/tpub): version(4) depth(1) parent fingerprint(4)
 * child number(4) chain code(32) compressed key(33), Base58Check. */
#ifndef TSS_MPC_BIP32_H
#define TSS_MPC_BIP32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpc/point.h"
#include "mpc/scalar.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_BIP32_CHAIN_CODE_BYTES 32
#define TSS_BIP32_MAX_DEPTH 255
#define TSS_BIP32_HARDENED 0x80000000u
#define TSS_BIP32_VERSION_XPUB 0x0488B21Eu /* mainnet */
#define TSS_BIP32_VERSION_TPUB 0x043587CFu /* testnet */
#define TSS_BIP32_XPUB_BYTES 78
/* 111 Base58 characters + NUL. */
#define TSS_BIP32_XPUB_TEXT 112
/* "m" + 255 x "/2147483647" + NUL. */
#define TSS_BIP32_PATH_TEXT_MAX (1 + TSS_BIP32_MAX_DEPTH * 11 + 1)
/* Wire form of a path: depth(1) || depth x index(4, big-endian). */
#define TSS_BIP32_PATH_WIRE_MAX (1 + 4 * TSS_BIP32_MAX_DEPTH)

typedef struct {
    uint8_t depth; /* 0 = the root key itself */
    uint32_t index[TSS_BIP32_MAX_DEPTH]; /* each < 2^31 */
} tss_bip32_path;

typedef struct {
    tss_point key;
    uint8_t chain_code[TSS_BIP32_CHAIN_CODE_BYTES];
    uint8_t depth;
    uint8_t parent_fp[4];
    uint32_t child_number;
} tss_bip32_node;

/* Text "m", "m/0/7/42": decimal indices without leading zeros, depth <= 255.
 * Hardened markers ("'", "h", "H") and indices >= 2^31 are refused with an
 * error that says why (hardened derivation needs the private key). */
TSS_MUST_CHECK tss_result tss_bip32_path_parse(tss_bip32_path *out, const char *text);
/* Canonical text (cap >= TSS_BIP32_PATH_TEXT_MAX always suffices). */
void tss_bip32_path_format(char *out, size_t cap, const tss_bip32_path *p);
int tss_bip32_path_eq(const tss_bip32_path *a, const tss_bip32_path *b);
/* Wire form; the reader refuses hardened indices like the parser. */
void tss_bip32_path_write(tss_writer *w, const tss_bip32_path *p);
TSS_MUST_CHECK tss_result tss_bip32_path_read(tss_reader *rd, tss_bip32_path *out);

/* The root node of a key: depth 0, no parent, child number 0. */
void tss_bip32_root(tss_bip32_node *n, const tss_point *X,
                    const uint8_t chain_code[TSS_BIP32_CHAIN_CODE_BYTES]);
/* First 4 bytes of RIPEMD-160(SHA-256(ser_P(P))). */
TSS_MUST_CHECK tss_result tss_bip32_fingerprint(uint8_t fp[4], const tss_point *P);
/* One CKDpub step. *il receives I_L (may be NULL). Fails for a hardened index
 * and, per BIP-32, when I_L >= n or the child is infinity (probability about
 * 2^-127: the caller should use the next index); out is written on success. */
TSS_MUST_CHECK tss_result tss_bip32_ckd_pub(tss_bip32_node *child, tss_scalar *il,
                                            const tss_bip32_node *parent, uint32_t index);
/* Derive along a whole path; *tweak (may be NULL) receives t = sum I_L, so
 * that child->key = parent->key + t*G (t = 0 for the empty path). Fails if the
 * depth would exceed 255. */
TSS_MUST_CHECK tss_result tss_bip32_derive(tss_bip32_node *child, tss_scalar *tweak,
                                           const tss_bip32_node *parent,
                                           const tss_bip32_path *path);

TSS_MUST_CHECK tss_result tss_bip32_xpub_encode(char out[TSS_BIP32_XPUB_TEXT],
                                                const tss_bip32_node *n, bool testnet);
/* Accepts xpub and tpub; refuses private versions (xprv/tprv), unknown ones,
 * a bad checksum or key, and depth 0 with a parent fingerprint or child
 * number. testnet may be NULL. */
TSS_MUST_CHECK tss_result tss_bip32_xpub_decode(tss_bip32_node *n, bool *testnet,
                                                const char *text);

#endif
