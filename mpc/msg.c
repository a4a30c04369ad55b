#include "mpc/msg.h"

#include <stdlib.h>

#include "util/secmem.h"

void tss_mpc_outbox_init(tss_mpc_outbox *box) {
    box->msgs = NULL;
    box->count = box->cap = 0;
}

tss_result tss_mpc_outbox_push(tss_mpc_outbox *box, uint8_t type, uint16_t from, uint16_t to,
                               tss_writer *payload) {
    TSS_GUARD(tss_writer_status(payload, tss_mpc_msg_type_name(type)));
    /* Message payloads are released with free(); secret memory is not. */
    TSS_ENSURE(!payload->secret, TSS_E_INTERNAL, "%s: secret writer handed to the outbox",
               tss_mpc_msg_type_name(type));
    TSS_ENSURE(payload->len <= TSS_MPC_MAX_PAYLOAD, TSS_E_INTERNAL, "%s payload too large",
               tss_mpc_msg_type_name(type));
    if (box->count == box->cap) {
        size_t cap = box->cap ? box->cap * 2 : 8;
        tss_mpc_msg *m = realloc(box->msgs, cap * sizeof *m);
        TSS_ENSURE(m, TSS_E_NOMEM, "out of memory queueing a message");
        box->msgs = m;
        box->cap = cap;
    }
    box->msgs[box->count++] =
        (tss_mpc_msg){.type = type, .from = from, .to = to, .data = payload->data, .len = payload->len};
    tss_writer_init(payload, payload->max); /* the buffer now belongs to the message */
    return TSS_OK_RESULT;
}

void tss_mpc_outbox_clear(tss_mpc_outbox *box) {
    for (size_t i = 0; i < box->count; i++) {
        tss_wipe(box->msgs[i].data, box->msgs[i].len);
        free(box->msgs[i].data);
    }
    free(box->msgs);
    tss_mpc_outbox_init(box);
}

const char *tss_mpc_msg_type_name(uint8_t type) {
    switch (type) {
    case TSS_MSG_DKG_R1_BCAST: return "dkg round-1 broadcast";
    case TSS_MSG_DKG_R1_P2P: return "dkg round-1 message";
    case TSS_MSG_DKG_R2_BCAST: return "dkg round-2 broadcast";
    case TSS_MSG_DKG_R2_P2P: return "dkg round-2 message";
    case TSS_MSG_DKG_R3_BCAST: return "dkg round-3 broadcast";
    case TSS_MSG_SIGN_R1_BCAST: return "sign round-1 broadcast";
    case TSS_MSG_SIGN_R1_P2P: return "sign round-1 message";
    case TSS_MSG_SIGN_R2_P2P: return "sign round-2 message";
    case TSS_MSG_SIGN_FINAL_BCAST: return "sign final broadcast";
    case TSS_MSG_RESHARE_R1_BCAST: return "reshare round-1 broadcast";
    case TSS_MSG_RESHARE_R1_P2P: return "reshare round-1 message";
    case TSS_MSG_RESHARE_R2_BCAST: return "reshare round-2 broadcast";
    case TSS_MSG_RESHARE_R2_P2P: return "reshare round-2 message";
    case TSS_MSG_RESHARE_R3_BCAST: return "reshare round-3 broadcast";
    default: return "unknown message type";
    }
}
