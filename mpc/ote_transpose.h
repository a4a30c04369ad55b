/* Bit-matrix transpose between the column view of the OT extension (one
 * 640-bit column per base OT) and the row view (one 256-bit row per extended
 * OT). Bits are LSB-first within bytes. */
#ifndef TSS_MPC_OTE_TRANSPOSE_H
#define TSS_MPC_OTE_TRANSPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "mpc/ote.h"

/* For r < nrows (a multiple of 8, at most TSS_OTE_ROWS) and c < TSS_OTE_KAPPA:
 * bit c of out[r] = bit r of in[c]. SSE2 movemask on x86-64, else 8x8 blocks. */
void tss_ote_transpose(uint8_t (*out)[TSS_OTE_KAPPA_BYTES],
                       const uint8_t (*in)[TSS_OTE_COL_BYTES], size_t nrows);
/* The portable 8x8-block version (exposed to test it against the SSE2 one). */
void tss_ote_transpose_portable(uint8_t (*out)[TSS_OTE_KAPPA_BYTES],
                                const uint8_t (*in)[TSS_OTE_COL_BYTES], size_t nrows);

#endif
