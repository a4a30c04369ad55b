#include "mpc/ote_transpose.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

/* Transpose the 8x8 bit block held in x, bit 8i+j <-> bit 8j+i, in three
 * swap steps of growing distance (Hacker's Delight 7-3). */
static inline uint64_t transpose8x8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x ^= t ^ (t << 28);
    return x;
}

void tss_ote_transpose_portable(uint8_t (*out)[TSS_OTE_KAPPA_BYTES],
                                const uint8_t (*in)[TSS_OTE_COL_BYTES], size_t nrows) {
    for (size_t cb = 0; cb < TSS_OTE_KAPPA_BYTES; cb++) {
        for (size_t rb = 0; rb < nrows / 8; rb++) {
            /* byte k = column 8cb+k, its bit s = row 8rb+s */
            uint64_t x = 0;
            for (size_t k = 0; k < 8; k++) x |= (uint64_t)in[8 * cb + k][rb] << (8 * k);
            x = transpose8x8(x);
            for (size_t s = 0; s < 8; s++) out[8 * rb + s][cb] = (uint8_t)(x >> (8 * s));
        }
    }
}

#if defined(__x86_64__)
/* 16 columns x 8 rows at a time: gather one byte of each of 16 columns, then
 * movemask picks bit 7 of every byte (row 8rb+7) and a left shift brings the
 * next row up to bit 7. */
void tss_ote_transpose(uint8_t (*out)[TSS_OTE_KAPPA_BYTES],
                       const uint8_t (*in)[TSS_OTE_COL_BYTES], size_t nrows) {
    for (size_t rb = 0; rb < nrows / 8; rb++) {
        for (size_t cb = 0; cb < TSS_OTE_KAPPA / 16; cb++) {
            uint8_t g[16];
            for (size_t k = 0; k < 16; k++) g[k] = in[16 * cb + k][rb];
            __m128i v = _mm_loadu_si128((const __m128i *)g);
            for (int s = 7; s >= 0; s--) {
                unsigned m = (unsigned)_mm_movemask_epi8(v);
                out[8 * rb + (size_t)s][2 * cb] = (uint8_t)m;
                out[8 * rb + (size_t)s][2 * cb + 1] = (uint8_t)(m >> 8);
                v = _mm_slli_epi64(v, 1);
            }
        }
    }
}
#else
void tss_ote_transpose(uint8_t (*out)[TSS_OTE_KAPPA_BYTES],
                       const uint8_t (*in)[TSS_OTE_COL_BYTES], size_t nrows) {
    tss_ote_transpose_portable(out, in, nrows);
}
#endif
