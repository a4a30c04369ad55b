/* Protocol messages as the sans-I/O state machines see them.
 *
 * A message is (type, from, to, payload). `to` is 0 for a broadcast. The
 * transport (daemon/) authenticates `from` (signed broadcasts, AEAD for
 * point-to-point payloads, both binding session, round, type, sender and
 * receiver), so inside mpc/ a message attributed to a party is that party's. */
#ifndef TSS_MPC_MSG_H
#define TSS_MPC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"
#include "util/result.h"

#define TSS_MPC_MAX_PARTIES 32
#define TSS_MPC_BROADCAST 0
/* Largest payload of any protocol message (a DKG point-to-point message with
 * a base-OT batch is ~17 KiB; a signing round-2 message ~49 KiB). */
#define TSS_MPC_MAX_PAYLOAD (64u * 1024)

/* Message types: high nibble = protocol and round, low bit set = broadcast. */
enum {
    TSS_MSG_DKG_R1_BCAST = 0x11,
    TSS_MSG_DKG_R1_P2P = 0x12,
    TSS_MSG_DKG_R2_BCAST = 0x21,
    TSS_MSG_DKG_R2_P2P = 0x22,
    TSS_MSG_DKG_R3_BCAST = 0x31,
    TSS_MSG_SIGN_R1_BCAST = 0x41,
    TSS_MSG_SIGN_R1_P2P = 0x42,
    TSS_MSG_SIGN_R2_P2P = 0x52,
    TSS_MSG_SIGN_FINAL_BCAST = 0x61,
    TSS_MSG_RESHARE_R1_BCAST = 0x71,
    TSS_MSG_RESHARE_R1_P2P = 0x72,
    TSS_MSG_RESHARE_R2_BCAST = 0x81,
    TSS_MSG_RESHARE_R2_P2P = 0x82,
    TSS_MSG_RESHARE_R3_BCAST = 0x91,
};

typedef struct {
    uint8_t type;
    uint16_t from;
    uint16_t to; /* TSS_MPC_BROADCAST or a party id */
    uint8_t *data; /* owned; wiped on free (point-to-point payloads carry secrets) */
    size_t len;
} tss_mpc_msg;

typedef struct {
    tss_mpc_msg *msgs;
    size_t count;
    size_t cap;
} tss_mpc_outbox;

void tss_mpc_outbox_init(tss_mpc_outbox *box);
/* Moves the writer's bytes into a new message (the writer is left empty). */
TSS_MUST_CHECK tss_result tss_mpc_outbox_push(tss_mpc_outbox *box, uint8_t type, uint16_t from,
                                              uint16_t to, tss_writer *payload);
/* Frees every message (wiping payloads) and empties the box. */
void tss_mpc_outbox_clear(tss_mpc_outbox *box);
const char *tss_mpc_msg_type_name(uint8_t type);

#endif
