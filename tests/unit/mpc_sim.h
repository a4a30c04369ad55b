/* In-process network for sans-I/O protocol tests: every party's outbox is
 * routed to its recipients, with a hook that can tamper with, drop,
 * duplicate or redirect any message on the way. */
#ifndef TSS_TEST_MPC_SIM_H
#define TSS_TEST_MPC_SIM_H

#include <stdbool.h>

#include "mpc/keyshare.h"
#include "mpc/msg.h"

typedef enum { SIM_DELIVER, SIM_DROP } sim_action;

/* Called for every (message, recipient) pair before delivery; may modify the
 * copy it is given. */
typedef sim_action (*sim_hook)(void *ctx, tss_mpc_msg *msg, uint16_t recipient);

/* Delivers to one party; returns its result. */
typedef tss_result (*sim_deliver)(void *party, const tss_mpc_msg *msg, tss_mpc_outbox *out);

typedef struct {
    size_t n;
    uint16_t ids[TSS_MPC_MAX_PARTIES];
    void *party[TSS_MPC_MAX_PARTIES];
    sim_deliver deliver;
    sim_hook hook;
    void *hook_ctx;
    /* Outcome per party: first failure seen (TSS_OK if none). */
    tss_err error[TSS_MPC_MAX_PARTIES];
    char detail[TSS_MPC_MAX_PARTIES][256]; /* tss_error_detail() at that failure */
    size_t bytes_sent[TSS_MPC_MAX_PARTIES]; /* payload bytes each party sent (broadcast counted once per recipient) */
} sim_net;

/* Routes `initial` (the parties' first messages) and everything they cause
 * until no message is left. Parties that failed stop receiving. */
void sim_run(sim_net *net, tss_mpc_outbox *initial);

/* Runs an honest DKG among parties 1..n and returns their key shares. */
void sim_keygen(size_t n, uint16_t t, uint8_t session_byte, tss_keyshare **shares);

#endif
