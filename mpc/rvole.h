/* DKLS23 random-VOLE multiplication with forced reuse (ePrint 2023/765,
 * protocol 5.2 with l = 2, rho = 1), on top of the KOS OT extension.
 *
 * The multiplication receiver (= OT-extension receiver) samples random choice
 * bits beta (512) and ends up with b = sum_j beta_j g_j for a public gadget
 * vector g hashed from the sid. The sender multiplies BOTH of its inputs
 * (a_1, a_2) = (r_i, sk_i) by the same b, so the two products cannot use
 * different receiver inputs. Outputs: sender c_k, receiver d_k with
 * c_k + d_k = a_k * b (mod n), k = 1, 2.
 *
 * Each extended OT carries 3 scalars, the random pads alpha0_j, alpha1_j of the
 * OT extension (the receiver holds alpha_{beta_j, j}):
 *   sender:   eta random; a~_{j,k} = alpha0_{j,k} - alpha1_{j,k} + a_k  (k = 1, 2)
 *             a~_{j,3} = alpha0_{j,3} - alpha1_{j,3} + eta
 *             c_k = -sum_j g_j alpha0_{j,k}
 *             theta_1, theta_2 = H(a~);  eta' = eta + theta_1 a_1 + theta_2 a_2
 *             mu = H({alpha0_{j,3} + theta_1 alpha0_{j,1} + theta_2 alpha0_{j,2}}_j)
 *             sends (a~, eta', mu)
 *   receiver: e_{j,k} = alpha_{beta_j,j,k} + beta_j a~_{j,k}  (= alpha0_{j,k} + beta_j a_k)
 *             checks mu == H({e_{j,3} + theta_1 e_{j,1} + theta_2 e_{j,2} - beta_j eta'}_j)
 *             d_k = sum_j g_j e_{j,k}
 * The check forces the same (a_1, a_2) in every row: a sender that tampers with
 * a~ or eta' makes mu mismatch (for a row with beta_j = 1; a tampered row with
 * beta_j = 0 does not change the output). Pass/fail can leak beta bits, which
 * the 2s = 256 extra bits of the gadget encoding absorb; the caller still bans
 * a peer whose check fails.
 *
 * Round 1: receiver start -> OT-extension message (tss_ote_msg).
 * Round 2: sender reply   -> tss_rvole_msg.
 * Round 3: receiver finish. */
#ifndef TSS_MPC_RVOLE_H
#define TSS_MPC_RVOLE_H

#include <stddef.h>
#include <stdint.h>

#include "mpc/ote.h"
#include "mpc/scalar.h"
#include "util/bytes.h"
#include "util/result.h"

#define TSS_RVOLE_L 2     /* sender inputs */
#define TSS_RVOLE_WIDTH 3 /* scalars per OT: L correlations + one check */
#define TSS_RVOLE_MU_BYTES 32
#define TSS_RVOLE_WIRE_BYTES                                                      \
    (TSS_OTE_XI * TSS_RVOLE_WIDTH * TSS_SC_BYTES + TSS_SC_BYTES + TSS_RVOLE_MU_BYTES)

/* Receiver state between rounds 1 and 3 (about 49 KiB of secrets): the caller
 * places it in secret memory and must call tss_rvole_receiver_wipe. */
typedef struct {
    tss_ote_ctx ctx;
    uint8_t beta[TSS_OTE_XI_BYTES];
    tss_scalar v[TSS_RVOLE_WIDTH][TSS_OTE_XI]; /* alpha_{beta_j, j}, by column */
    int started;
} tss_rvole_receiver;

/* The sender's reply. */
typedef struct {
    tss_scalar a_tilde[TSS_OTE_XI][TSS_RVOLE_WIDTH];
    tss_scalar eta;
    uint8_t mu[TSS_RVOLE_MU_BYTES];
} tss_rvole_msg;

/* Round 1 (receiver): sample beta, output b and the OT-extension message. */
TSS_MUST_CHECK tss_result tss_rvole_receiver_start(tss_rvole_receiver *st, const tss_ote_ctx *ctx,
                                                   const tss_ote_receiver_seeds *seeds,
                                                   tss_ote_msg *msg1, tss_scalar *b);

/* Round 2 (sender) with inputs a[0], a[1]: checks the OT-extension message
 * (TSS_E_PROTOCOL naming the receiver: ban it), then writes the reply and the
 * sender's shares c (only on success). */
TSS_MUST_CHECK tss_result tss_rvole_sender_reply(const tss_ote_ctx *ctx,
                                                 const tss_ote_sender_seeds *seeds,
                                                 const tss_ote_msg *msg1,
                                                 const tss_scalar a[TSS_RVOLE_L],
                                                 tss_rvole_msg *msg2, tss_scalar c[TSS_RVOLE_L]);

/* Round 3 (receiver): verify the reply (TSS_E_PROTOCOL naming the sender: ban
 * it) and write d (only on success). The state is wiped in either case. */
TSS_MUST_CHECK tss_result tss_rvole_receiver_finish(tss_rvole_receiver *st,
                                                    const tss_rvole_msg *msg2,
                                                    tss_scalar d[TSS_RVOLE_L]);

void tss_rvole_receiver_wipe(tss_rvole_receiver *st);

/* The public gadget vector of a run: ChaCha20 under key
 * SHA-256-derive("tssd/rvole/gadget/v1", sid), 32 bytes per entry reduced
 * mod n (statistical distance from uniform < 2^-127 per entry). */
void tss_rvole_gadget(tss_scalar g[TSS_OTE_XI], const tss_ote_ctx *ctx);

/* The Fiat-Shamir challenges theta_1, theta_2 of a reply (from a~ only), and
 * mu = H(check values of the 512 rows); both roles compute them this way.
 * Exposed so tests can build a malicious but self-consistent sender. */
void tss_rvole_challenges(tss_scalar theta[TSS_RVOLE_L], const tss_ote_ctx *ctx,
                          const tss_rvole_msg *msg);
void tss_rvole_mu(uint8_t mu[TSS_RVOLE_MU_BYTES], const tss_ote_ctx *ctx,
                  const tss_scalar vals[TSS_OTE_XI]);

/* Encoding: a~ (512 rows x 3 scalars, row-major) || eta' || mu, scalars 32
 * bytes big-endian and < n. Decode takes exactly TSS_RVOLE_WIRE_BYTES. */
void tss_rvole_msg_write(tss_writer *w, const tss_rvole_msg *msg);
/* Read the fields from r: a non-canonical scalar sets TSS_E_INVALID. */
void tss_rvole_msg_read_fields(tss_reader *r, tss_rvole_msg *msg);
TSS_MUST_CHECK tss_result tss_rvole_msg_decode(tss_rvole_msg *msg, const uint8_t *in, size_t len);

#endif
