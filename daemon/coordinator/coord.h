/* tss-coordinator internals shared by main.c (connections, status, signals)
 * and session.c / registry.c (keygen, signing and presigning sessions, the
 * key registry and the audit log). */
#ifndef TSS_DAEMON_COORDINATOR_COORD_H
#define TSS_DAEMON_COORDINATOR_COORD_H

#include <stdbool.h>
#include <stdint.h>

#include "config/coordinator.h"
#include "daemon/audit.h"
#include "daemon/admission.h"
#include "daemon/conn.h"
#include "daemon/keyfile.h"
#include "daemon/presig_record.h"
#include "daemon/loop.h"
#include "daemon/net.h"
#include "daemon/ratelimit.h"
#include "tls/certinfo.h"
#include "tls/context.h"
#include "wire/frame.h"
#include "wire/msg.h"

typedef struct csession csession;
typedef struct request request;
typedef struct key_entry key_entry;

typedef struct coord coord;
typedef struct coord_held_reply coord_held_reply;

/* One operator's token bucket and the refusals not yet reported. */
typedef struct {
    tss_bucket bucket;
    uint64_t refused;
    int64_t last_report_ms;
} coord_op_rate;

/* One TLS connection (party or operator). */
typedef struct peer {
    coord *co;
    tss_dconn *conn;
    struct peer *prev, *next;
    tss_tls_role role;
    unsigned party_id;
    bool hello; /* a party that has said HELLO */
    bool authed;   /* TLS handshake done */
    bool counted;  /* still counted in coord.n_conns */
    tss_admit_entry *admit; /* while unauthenticated: its address's entry */
    int64_t accepted;
    unsigned awaiting; /* an operator's requests not yet answered (idle held) */
} peer;

/* What the coordinator knows about one configured party. */
typedef struct {
    bool configured;
    peer *conn; /* the connection that said HELLO, or NULL */
    bool known; /* hello/cert hold the last HELLO seen */
    tss_wire_hello hello;
    tss_tls_cert_info cert;
    int64_t since_ms, last_heartbeat_ms; /* wall clock */
    int64_t last_seen;  /* tss_now_ms() of the last frame from the party */
    bool unresponsive;  /* silent for timeouts.liveness (liveness.c) */
    uint64_t probe_seq;
    char address[TSS_WIRE_MAX_ADDRESS_LEN + 1];
    /* admission.c: announced capacity (0: not announced), sessions open on
     * the party, and until when it is skipped after answering "busy". */
    uint16_t capacity;
    unsigned active;
    int64_t busy_until;
} party_slot;

/* admission.c: requests waiting for capacity, oldest first. */
typedef struct {
    request *rq;
    int64_t since; /* tss_now_ms() when queued */
} coord_queued;

typedef struct {
    coord_queued *items;
    size_t n, cap;
    tss_timer timer; /* the oldest deadline or the end of a busy backoff */
    bool kicked;     /* a pump is deferred to the end of the batch */
    bool pumping;
} coord_queue;

typedef struct {
    int fd;
    tss_watch watch;
    coord *co;
} listener;

struct coord {
    tss_coordinator_config cfg;
    tss_loop *loop;
    tss_tls_ctx *tls;
    tss_tls_paths paths;
    listener listeners[TSS_NET_MAX_LISTEN * TSS_CONFIG_MAX_LISTEN];
    size_t n_listen;
    peer *peers;
    size_t n_conns;
    size_t n_unauth, n_operators;
    size_t max_unauth, max_operators; /* effective caps (main.c) */
    tss_admit admit;
    tss_timer admit_timer;
    party_slot parties[TSS_WIRE_MAX_PARTIES + 1];
    tss_dconn_limits lim;
    int64_t started_ms;
    bool stopping;
    tss_timer stop_timer;
    tss_timer liveness_timer;
    /* sessions (session.c), registry (registry.c) */
    csession *sessions;
    size_t n_sessions;
    request *requests;
    key_entry *keys;
    struct damaged_key *damaged; /* keys refused because a state file is damaged */
    unsigned rotate; /* where the next automatic quorum starts */
    /* audit log and rate limits (audit.c) */
    tss_audit *audit;
    tss_timer audit_timer;
    bool audit_flush_scheduled;
    coord_held_reply *held; /* replies waiting for the next audit flush */
    size_t n_held, cap_held;
    coord_held_reply *sending; /* the list being sent by the flush */
    size_t n_sending;
    coord_op_rate op_rate[TSS_CONFIG_MAX_OPERATORS]; /* by index in cfg.operators */
    coord_queue queue;
    int audit_fd;
    struct coord_pool *pool; /* pool.c */
    struct coord_pg *pg; /* storage.backend postgresql (store_pg.c), else NULL */
    struct coord_retire *retiring; /* lifecycle.c: retirements waiting for parties */
};


/* Frames from a party that said HELLO: PROTOCOL_MSG, SESSION_RESULT, SESSION_ABORT. */
void coord_party_frame(peer *p, const tss_wire_frame *f);
/* An OP_REQUEST from an operator. */
void coord_operator_request(peer *p, const tss_wire_frame *f);
/* A party's connection closed: its sessions fail naming it. */
void coord_party_gone(coord *co, unsigned party_id);
/* An operator's connection closed: its pending requests lose their reply. */
void coord_operator_gone(coord *co, peer *p);
void coord_sessions_free(coord *co);
/* A connected party went silent (liveness.c): its sessions fail naming it. */
void coord_party_unresponsive(coord *co, unsigned party_id, int64_t silent_ms);
/* session.c: a presign session of key_id that reported this id is running. */
bool coord_presign_in_flight(coord *co, const char *key_id,
                             const uint8_t id[TSS_WIRE_PRESIGN_ID_LEN]);
/* reconcile.c: a party's PRESIG_INVENTORY; answers PRESIG_DELETE. */
void coord_presig_inventory(peer *p, const tss_wire_frame *f);

/* liveness.c: probes and last-seen times of the connected parties. */
TSS_MUST_CHECK tss_result coord_liveness_start(coord *co);
/* Any frame from party id (it said HELLO on this connection). */
void coord_liveness_seen(coord *co, unsigned id);
/* Connected, said HELLO, not unresponsive: may be given a session. */
bool coord_party_available(const coord *co, unsigned id);

/* lifecycle.c: key retirement (issue 17). OP_RETIRE marks the key retired
 * in its key file (durably, before anything else: from then on it never
 * signs), cancels its sessions and asks every party of the key to erase its
 * share (KEY_RETIRE); the reply lists which parties confirmed. A party that
 * was offline is asked again whenever it says HELLO. */
void coord_retire_request(coord *co, request *rq, key_entry *k);
void coord_retire_party_hello(coord *co, unsigned party_id);
void coord_retire_party_frame(peer *p, const tss_wire_frame *f); /* KEY_RETIRED */
void coord_retire_party_gone(coord *co, unsigned party_id);
void coord_retire_free(coord *co);
/* session.c, for lifecycle.c: the request's operation; answer it (status 0
 * or TSS_WIRE_ERR_*, an optional key record, a text); cancel every session
 * of a key (SESSION_ABORT cancelled to its parties, requests answered). */
const tss_wire_op_request *coord_request_op(const request *rq);
void coord_request_answer(request *rq, uint16_t status, const tss_wire_key_info *key,
                          const char *text);
void coord_sessions_cancel_key(coord *co, const char *key_id, const char *why);

/* registry.c: keys/<key-id>.json in the state directory. */
TSS_MUST_CHECK tss_result coord_registry_load(coord *co);
TSS_MUST_CHECK tss_result coord_registry_add(coord *co, const tss_wire_key_info *info,
                                             const uint8_t identities[][32],
                                             const uint8_t session_id[16]);
key_entry *coord_registry_find(coord *co, const char *key_id);
/* Rewrite k's key file from k->info (atomic replace, durable on success):
 * how an epoch change or a retirement is recorded. */
TSS_MUST_CHECK tss_result coord_registry_save(coord *co, const key_entry *k);
/* Why key_id is refused (its key file or presignature record is damaged:
 * the message names the file and the record), or NULL. */
const char *coord_registry_damaged(const coord *co, const char *key_id);
void coord_registry_free(coord *co);
/* The id of a damaged key, or NULL if none. */
const char *coord_registry_first_damaged(const coord *co);
/* A key read from another store (store_pg.c): added to co->keys without
 * presignatures (TSS_E_EXISTS if the id is there already). */
TSS_MUST_CHECK tss_result coord_registry_adopt(coord *co, const tss_keyfile *kf, key_entry **out);
TSS_MUST_CHECK tss_result coord_registry_mark_damaged(coord *co, const char *key_id,
                                                      const char *why);
/* The in-memory list of available presignatures (no I/O). */
TSS_MUST_CHECK tss_result coord_presig_push(key_entry *k, const tss_precord_entry *p);
void coord_presig_remove(key_entry *k, size_t idx);

/* audit.c: the audit log in <state>/audit/ (daemon/audit.h) with group commit. */
TSS_MUST_CHECK tss_result coord_audit_open(coord *co);
/* Flush with fdatasync, send held replies' memory away, close. */
void coord_audit_close(coord *co);
/* Queue one record: fmt continues the JSON object after time and operator.
 * durable: replies queued from now on wait for this record's fdatasync. */
void coord_audit(coord *co, const char *op, bool durable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Send a frame to an operator now, or after the pending durable audit flush
 * (and after every reply held before it). */
void coord_audit_reply(coord *co, peer *op, tss_wire_type type, const uint8_t *data, size_t len);
void coord_audit_operator_gone(coord *co, peer *op);
/* Take one token of the operator's bucket; false: *why says
 * "rate limit exceeded for operator X; retry after N ms". */
bool coord_rate_admit(coord *co, peer *op, char *why, size_t cap);

/* A presignature the coordinator has created and not yet handed out. */
typedef tss_precord_entry coord_presig;

struct key_entry {
    key_entry *next;
    tss_wire_key_info info; /* info.presignatures == n_presigs */
    uint8_t identities[TSS_WIRE_MAX_PARTIES + 1][32]; /* by party id, pinned at keygen */
    uint8_t session[16];   /* keygen session id (kept in the key file) */
    coord_presig *presigs; /* available, oldest first */
    size_t n_presigs, cap_presigs;
    int presig_fd; /* presig/<key-id>.log (append-only), -1 until opened */
    uint64_t presig_records; /* records in that file (the next record's number) */
    int64_t store_synced_ms; /* postgresql: when presigs was last read from the database */
};

/* registry.c: the durable presignature record, presig/<key-id>.log in the
 * state directory. add appends "+ id signers[ path]" (the path only when
 * there is one) and fdatasyncs it; take
 * appends "- id" and fdatasyncs it BEFORE it returns the record, so an id is
 * handed out at most once, across restarts too (a failed write also drops
 * the record from memory: it may be on disk). */
TSS_MUST_CHECK tss_result coord_presig_add(coord *co, key_entry *k,
                                           const uint8_t id[TSS_WIRE_PRESIGN_ID_LEN],
                                           const uint16_t *signers, uint16_t count,
                                           const tss_bip32_path *path);
/* The key a signature under path must verify with: X (depth 0) or its BIP-32
 * child from the registry's chain code (TSS_E_NOT_FOUND without one). */
TSS_MUST_CHECK tss_result coord_signing_key(tss_point *out, const key_entry *k,
                                            const tss_bip32_path *path);
TSS_MUST_CHECK tss_result coord_presig_take(coord *co, key_entry *k, size_t idx,
                                            coord_presig *out);

#endif
