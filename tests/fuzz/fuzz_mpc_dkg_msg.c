/* Fuzz the DKG message decoders (first byte: message type and threshold). */
#include <stddef.h>
#include <stdint.h>

#include "mpc/msg.h"
#include "util/result.h"

tss_result tss_dkg_fuzz_decode(uint8_t type, uint16_t t, uint16_t n, const uint8_t *data,
                               size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t types[] = {TSS_MSG_DKG_R1_BCAST, TSS_MSG_DKG_R2_BCAST, TSS_MSG_DKG_R2_P2P,
                                    TSS_MSG_DKG_R3_BCAST};
    if (size < 1) return 0;
    uint8_t type = types[data[0] & 3];
    uint16_t t = (uint16_t)(2 + ((data[0] >> 2) & 3)), n = (uint16_t)(t + ((data[0] >> 4) & 3));
    (void)tss_dkg_fuzz_decode(type, t, n, data + 1, size - 1).err;
    return 0;
}
