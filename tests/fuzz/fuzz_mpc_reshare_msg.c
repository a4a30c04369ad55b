/* Fuzz the reshare message decoders. First byte: bits 0-2 the message type
 * (mod 5), bit 3 the sender deals, bit 4 the sender is a new party, bits 5-6
 * the new threshold - 2, bit 7 adds one to the new committee's size. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpc/msg.h"
#include "util/result.h"

tss_result tss_reshare_fuzz_decode(uint8_t type, bool dealer, bool new_party, uint16_t t_new,
                                   uint16_t n_new, const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t types[] = {TSS_MSG_RESHARE_R1_BCAST, TSS_MSG_RESHARE_R1_P2P,
                                    TSS_MSG_RESHARE_R2_BCAST, TSS_MSG_RESHARE_R2_P2P,
                                    TSS_MSG_RESHARE_R3_BCAST};
    if (size < 1) return 0;
    uint8_t type = types[(data[0] & 7) % 5];
    bool dealer = data[0] >> 3 & 1, new_party = data[0] >> 4 & 1;
    uint16_t t = (uint16_t)(2 + ((data[0] >> 5) & 3)), n = (uint16_t)(t + (data[0] >> 7));
    (void)tss_reshare_fuzz_decode(type, dealer, new_party, t, n, data + 1, size - 1).err;
    return 0;
}
