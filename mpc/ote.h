/* KOS OT extension with the SoftSpokenOT consistency check (sans-I/O).
 *
 * One run turns the 256 base OTs of an ordered pair into 512 random OTs of
 * 96-byte messages (3 x 32 bytes: enough for three scalars), in one message
 * from the extension receiver to the extension sender.
 *
 * Roles. The extension *receiver* (holds the choice bits; in DKLS23 the
 * multiplication receiver) was the base-OT *sender*: it holds seed pairs
 * (k0_i, k1_i). The extension *sender* was the base-OT *receiver*: it holds
 * Delta (256 bits) and k_{Delta_i, i}.
 *
 * Receiver, with x = choices (512 bits) || 128 random padding bits (640 bits):
 *   t_i = PRG(k0_i), u_i = t_i ^ PRG(k1_i) ^ x             (columns, 640 bits)
 *   chi_0..3 = H(u-matrix)                                  (GF(2^128))
 *   x~ = sum_b chi_b x[b] + x[4],  t~_i = sum_b chi_b t_i[b] + t_i[4]
 *     where y[b] is the b-th 128-bit block of a 640-bit column y
 *   sends (u, x~, t~); outputs out_j = H(j, T_j) for j < 512, T_j = row j of t
 * Sender:
 *   w_i = PRG(k_{Delta_i,i}) ^ Delta_i * u_i  ( = t_i ^ Delta_i * x )
 *   checks sum_b chi_b w_i[b] + w_i[4] == t~_i ^ Delta_i * x~ for every i
 *   outputs v0_j = H(j, W_j), v1_j = H(j, W_j ^ Delta); then out_j = v_{x_j, j}
 *
 * The check forces one choice vector x across all 256 columns (KOS15 with the
 * check of SoftSpokenOT, Roy 2022, section 4: a universal hash over the
 * extension dimension, masked by the padding block). A cheating receiver can
 * still pass with probability 1/2 per Delta bit it gambles on, so the outcome
 * leaks Delta bits: the caller must ban a peer whose check fails, for the key,
 * persistently.
 *
 * Bits are numbered LSB-first within bytes: bit k of a byte string is
 * (s[k / 8] >> (k % 8)) & 1. */
#ifndef TSS_MPC_OTE_H
#define TSS_MPC_OTE_H

#include <stddef.h>
#include <stdint.h>

#include "mpc/gf128.h"
#include "mpc/ote_hash.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_OTE_KAPPA 256 /* base OTs */
#define TSS_OTE_KAPPA_BYTES (TSS_OTE_KAPPA / 8)
#define TSS_OTE_XI 512 /* extended OTs delivered */
#define TSS_OTE_XI_BYTES (TSS_OTE_XI / 8)
#define TSS_OTE_PAD 128 /* padding rows hiding the choice bits in the check */
#define TSS_OTE_ROWS (TSS_OTE_XI + TSS_OTE_PAD)
#define TSS_OTE_COL_BYTES (TSS_OTE_ROWS / 8) /* one u-matrix column: 80 bytes */
#define TSS_OTE_CHECK_BLOCKS (TSS_OTE_XI / 128) /* chi_0..chi_3 */
#define TSS_OTE_SEED_BYTES 32
#define TSS_OTE_MSG_BYTES 96 /* one random-OT message */

/* Encoded size of tss_ote_msg: u || x~ || t~. */
#define TSS_OTE_WIRE_BYTES                                                        \
    (TSS_OTE_KAPPA * TSS_OTE_COL_BYTES + TSS_GF128_BYTES + TSS_OTE_KAPPA * TSS_GF128_BYTES)

/* Base-OT output of the extension receiver (it was the base-OT sender). */
typedef struct {
    uint8_t seed[2][TSS_OTE_KAPPA][TSS_OTE_SEED_BYTES];
} tss_ote_receiver_seeds;

/* Base-OT output of the extension sender: delta bit i chose seed[i]. */
typedef struct {
    uint8_t delta[TSS_OTE_KAPPA_BYTES];
    uint8_t seed[TSS_OTE_KAPPA][TSS_OTE_SEED_BYTES];
} tss_ote_sender_seeds;

/* One extension run of the ordered pair (sender_id -> receiver_id). */
typedef struct {
    uint8_t sid[TSS_OTE_SID_BYTES];
    uint16_t sender_id;   /* extension sender = multiplication sender */
    uint16_t receiver_id; /* extension receiver = multiplication receiver */
} tss_ote_ctx;

/* The receiver's message. */
typedef struct {
    uint8_t u[TSS_OTE_KAPPA][TSS_OTE_COL_BYTES];
    uint8_t x[TSS_GF128_BYTES];
    uint8_t t[TSS_OTE_KAPPA][TSS_GF128_BYTES];
} tss_ote_msg;

/* sid = SHA-256 derivation over (tag "tssd/ote/sid/v1", keygen sid, sign sid,
 * u16be sender_id, u16be receiver_id). Ids are 1..65535 and must differ.
 * Every multiplication of a signing session thus has its own sid per ordered
 * pair; a sign sid must never be reused (the signing layer enforces that). */
TSS_MUST_CHECK tss_result tss_ote_ctx_init(tss_ote_ctx *ctx,
                                           const uint8_t keygen_sid[TSS_OTE_SID_BYTES],
                                           const uint8_t sign_sid[TSS_OTE_SID_BYTES],
                                           uint16_t sender_id, uint16_t receiver_id);

/* Extension receiver: build the message for `choices` (512 bits) and the
 * receiver's outputs out[j] = v_{choice_j, j}. out must hold TSS_OTE_XI
 * messages and should be secret memory; it is written only on success. */
TSS_MUST_CHECK tss_result tss_ote_receive(const tss_ote_ctx *ctx, const tss_ote_receiver_seeds *seeds,
                                          const uint8_t choices[TSS_OTE_XI_BYTES], tss_ote_msg *msg,
                                          uint8_t (*out)[TSS_OTE_MSG_BYTES]);

/* Extension sender: verify the receiver's message and output both messages of
 * every OT. A failed consistency check is TSS_E_PROTOCOL naming the receiver:
 * the caller must ban that peer for this key. v0, v1 hold TSS_OTE_XI messages
 * each, are written only on success. */
TSS_MUST_CHECK tss_result tss_ote_send(const tss_ote_ctx *ctx, const tss_ote_sender_seeds *seeds,
                                       const tss_ote_msg *msg, uint8_t (*v0)[TSS_OTE_MSG_BYTES],
                                       uint8_t (*v1)[TSS_OTE_MSG_BYTES]);

/* The Fiat-Shamir challenges chi_0..3 of a message (exposed for tests). */
void tss_ote_challenges(const tss_ote_ctx *ctx, const tss_ote_msg *msg,
                        tss_gf128 chi[TSS_OTE_CHECK_BLOCKS]);

/* Encoding: u (256 columns x 80 bytes) || x~ (16) || t~ (256 x 16); every
 * byte string is valid. Read decodes exactly TSS_OTE_WIRE_BYTES. */
void tss_ote_msg_write(tss_writer *w, const tss_ote_msg *msg);
/* Read the fields from r (sticky errors; trailing bytes are the caller's). */
void tss_ote_msg_read_fields(tss_reader *r, tss_ote_msg *msg);
TSS_MUST_CHECK tss_result tss_ote_msg_decode(tss_ote_msg *msg, const uint8_t *in, size_t len);

#endif
