/* The presignature pool's policy (issue 14): given a key's stock, its
 * refills running and the coordinator's load, how many refill presign
 * sessions to start now, and which presignatures are too old to hand out.
 * Sans-I/O (no clock, no sockets): daemon/coordinator/pool.c feeds it and
 * acts; tests/unit/test_pool_policy.c drives it directly.
 *
 * Counting: "usable" is the stock whose signer set is online now (what a sign
 * request could use); "total" is every presignature recorded for the key
 * (any signer set). The pool refills the usable stock and caps the total:
 *   - a refill cycle starts when usable <= low and ends when usable >= target
 *     (hysteresis: a sign request does not start a presign session each);
 *   - within a cycle, usable + running < target sessions are wanted,
 *     never so many that total + running exceeds high (so a party that keeps
 *     flapping cannot make the stock of its signer sets grow without bound);
 *   - refills yield to online requests: none starts while a request waits
 *     in the admission queue, or when fewer than `reserve` coordinator
 *     session slots would stay free, or beyond max_refill running (all keys). */
#ifndef TSS_DAEMON_POOL_POLICY_H
#define TSS_DAEMON_POOL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t target;     /* 0: no pool */
    uint32_t low;        /* < target */
    uint32_t high;       /* >= target; 0 on input means 2 * target */
    uint64_t max_age_ms; /* 0: never retired */
} tss_pool_params;

typedef struct {
    uint32_t usable;    /* stock whose signers are all online */
    uint32_t total;     /* all stock of the key */
    uint32_t running;   /* refill sessions of this key running */
    bool refilling;     /* in a refill cycle (kept by the caller between calls) */
} tss_pool_key_state;

typedef struct {
    uint32_t running_all;   /* refill sessions running, all keys */
    uint32_t max_refill;    /* cap on running_all */
    uint32_t sessions;      /* coordinator sessions open (refills included) */
    uint32_t max_sessions;  /* limits.max_sessions */
    uint32_t queued;        /* online requests waiting for capacity */
} tss_pool_load;

/* high resolved (0 -> 2 * target, saturating). */
uint32_t tss_pool_high(const tss_pool_params *p);

/* Session slots refills leave free for online requests: a quarter of
 * max_sessions, at least 1. */
uint32_t tss_pool_reserve(uint32_t max_sessions);

/* How many refill sessions to start for this key now (0 when none); updates
 * st->refilling. */
uint32_t tss_pool_wanted(const tss_pool_params *p, tss_pool_key_state *st,
                         const tss_pool_load *load);

/* Whether a presignature recorded at made_ms (monotonic) is due for
 * retirement at now_ms. */
bool tss_pool_expired(const tss_pool_params *p, int64_t made_ms, int64_t now_ms);

/* When the presignature recorded at made_ms will expire (INT64_MAX: never). */
int64_t tss_pool_expiry(const tss_pool_params *p, int64_t made_ms);

#endif
