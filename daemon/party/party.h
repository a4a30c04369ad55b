/* tss-party internals shared by main.c (connection, keystore, signals) and
 * session.c (keygen, signing and presigning sessions driven by the
 * coordinator). */
#ifndef TSS_DAEMON_PARTY_PARTY_H
#define TSS_DAEMON_PARTY_PARTY_H

#include <stdbool.h>
#include <stdint.h>

#include "config/party.h"
#include "daemon/conn.h"
#include "daemon/loop.h"
#include "keystore/ban_state.h"
#include "keystore/keystore.h"
#include "keystore/party_store.h"
#include "keystore/presig_store.h"
#include "keystore/sid_log.h"
#include "mpc/keyshare.h"
#include "policy/approval.h"
#include "policy/policy.h"
#include "tls/context.h"
#include "wire/frame.h"
#include "wire/msg.h"

typedef struct psession psession;
typedef struct pkey pkey;
typedef struct party party;

/* One coordinator this party serves (config `coordinator` or one entry of
 * `coordinators`): its own connection, heartbeat and reconnect backoff. A
 * session belongs to the coordinator that started it; only that
 * coordinator's frames reach it. */
typedef struct pcoord {
    party *pt;
    size_t idx; /* in the configured list; names the coordinator in logs */
    const tss_party_coordinator_config *cfg;
    tss_dconn *conn;
    bool acked; /* HELLO_ACK received on conn */
    size_t addr_idx;
    int64_t backoff;
    int64_t hb_interval;
    uint64_t hb_seq;
    uint64_t connects; /* HELLO_ACKs so far (for the status line) */
    tss_timer reconnect_timer, hb_timer;
    char addr[300];
} pcoord;

struct party {
    tss_party_config cfg;
    const char *config_path; /* for diagnostics that point at the pins */
    tss_loop *loop;
    tss_tls_ctx *tls;
    tss_tls_paths paths;
    tss_party_keys *keys; /* secret memory, for the process lifetime */
    tss_keystore_info info;
    pcoord coords[TSS_PARTY_MAX_COORDINATORS];
    size_t n_coords;
    bool ever_ready;
    tss_timer stop_timer;
    tss_dconn_limits lim;
    bool stopping;
    /* sessions (session.c) */
    tss_store_ctx store;
    struct tss_share_cache *share_cache; /* decoded shares (keystore/share_cache.h); NULL: none */
    psession *sessions;
    size_t n_sessions; /* allocated, ended ones included until their deferred free */
    size_t n_active;   /* not yet ended: what limits.max_sessions caps, all coordinators together */
    pkey *keys_open; /* per-key store handles (sid log, presignature store) */
    struct tss_session_log *wire_sids; /* every wire session id accepted, ever (opened lazily) */
    /* signing policy (policy_gate.c); NULL policy: none configured */
    struct tss_policy *policy;
    struct tss_velocity *velocity;
    struct tss_audit *policy_log;
    struct tss_approval_nonce_store *approval_nonces; /* approvals.c */
};

/* Presignatures this process stored recently, and through which coordinator:
 * reconciliation with another coordinator leaves them alone until the
 * storing coordinator has had time to record them (reconcile.c). */
#define PARTY_RECENT_PRESIGS 4096
typedef struct {
    uint8_t id[32];
    int64_t at_ms;
    size_t coord;
} party_recent_presig;

/* Per-key store handles, open for the process lifetime. */
struct pkey {
    pkey *next;
    char key_id[TSS_KEY_ID_MAX + 1];
    tss_sid_log *sids;
    tss_presig_store *presigs;
    tss_ban_state bans; /* shared by every session of the key */
    /* reconcile.c: per coordinator, the presignature ids listed in
     * PRESIG_INVENTORY on its current connection, ascending; only these may
     * be deleted by that coordinator. */
    uint8_t (*inventory[TSS_PARTY_MAX_COORDINATORS])[32];
    size_t n_inventory[TSS_PARTY_MAX_COORDINATORS];
    party_recent_presig *recent; /* ring of PARTY_RECENT_PRESIGS, allocated on first use */
    size_t n_recent, recent_head;
};

/* The handles of key_id (opened on first use). */
TSS_MUST_CHECK tss_result party_key_handles(party *pt, const char *key_id, pkey **out);

/* reconcile.c: after HELLO_ACK, list every key's presignatures to the
 * coordinator (PRESIG_INVENTORY); on PRESIG_DELETE, consume the listed ones
 * it names durably. */
void party_presig_inventory(pcoord *co);
void party_presig_delete(pcoord *co, const tss_wire_frame *f);
/* PRESIG_RELIST: list one key again (a new snapshot), as after HELLO_ACK. */
void party_presig_relist(pcoord *co, const tss_wire_frame *f);
/* A presignature stored by a session of coordinator co (session.c). */
void party_presig_note(pkey *k, const uint8_t id[32], const pcoord *co);

/* policy_gate.c: load the policy file (policy_file), its velocity state and
 * decision log at start; --check validates the file; SIGHUP re-reads it
 * (validate, then swap: a bad file keeps the policy in force). */
TSS_MUST_CHECK tss_result party_policy_open(party *pt);
TSS_MUST_CHECK tss_result party_policy_check(const party *pt);
void party_policy_reload(party *pt);
void party_policy_close(party *pt);
/* The decision for a signing SESSION_START, before anything of the session
 * is used or sent: decode the request content (none: a raw digest), compute
 * the digest and require it equals st->digest, evaluate the policy, charge
 * the rule's window durably, log the decision. TSS_E_PERMISSION: refused by
 * the policy (detail: the reason naming the rule); another error: the
 * request is malformed or a local failure. */
TSS_MUST_CHECK tss_result party_policy_gate(party *pt, const tss_wire_session_start *st,
                                            const char *sid_hex);

/* approvals.c: the pinned approvers and the durable approval nonce record. */
struct tss_policy;
/* Every approver a policy rule names is pinned, and M is reachable. */
TSS_MUST_CHECK tss_result party_approvals_check_policy(const struct tss_policy *p,
                                                       const tss_party_approvals_config *a);
TSS_MUST_CHECK tss_result party_approvals_open(party *pt);
void party_approvals_close(party *pt);
/* SIGHUP: take the freshly loaded pins (validated against the policy in
 * force); the old ones are swapped into *fresh for the caller to free. */
TSS_MUST_CHECK tss_result party_approvals_reload(party *pt, tss_party_approvals_config *fresh);
/* One decision's verifier state (policy/policy.h tss_policy_approver). */
typedef struct {
    party *pt;
    const tss_wire_session_start *st;
    bool counted;
    tss_approval_tally tally;
    char report[400];
} party_approval_ctx;
tss_policy_approver party_approvals_verifier(party_approval_ctx *c);
/* After an allow, before the session uses or sends anything: record the
 * counted nonces durably (a replay or a failed write refuses). */
TSS_MUST_CHECK tss_result party_approvals_commit(party_approval_ctx *c);

/* A SESSION_START, PROTOCOL_MSG or SESSION_ABORT frame from coordinator co. */
void party_session_frame(pcoord *co, const tss_wire_frame *f);
/* Coordinator co's connection is gone: every session it started ends (it
 * aborts them on its side too); other coordinators' sessions go on. */
void party_sessions_drop(pcoord *co, const char *why);
/* End every running session of key_id, whichever coordinator started it
 * (SESSION_ABORT refused, with why). */
void party_sessions_cancel_key(party *pt, const char *key_id, const char *why);
/* Close key_id's store handles (they are reopened on next use). Its
 * sessions must have ended. */
void party_key_close(party *pt, const char *key_id);
/* lifecycle.c: KEY_RETIRE from coordinator co (answered on co's connection). */
void party_key_retire(pcoord *co, const tss_wire_frame *f);
/* Close every per-key store handle and free every session (exit). */
void party_sessions_free(party *pt);

#endif
