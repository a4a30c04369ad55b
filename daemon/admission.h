/* Admission of new TCP connections before TLS authenticates them (issue 11,
 * finding 3): per-source-address accounting for the coordinator's accept.
 *
 * Unauthenticated clients cost a file descriptor, memory and a TLS
 * handshake each; a flood of idle ones used to pin the coordinator at
 * limits.max_connections and lock operators and parties out. This module
 * keeps, per source address (IP, port ignored), a token bucket of new
 * connections (limits.connection_rate per second, burst 4x; a connection
 * that authenticates gives its token back) and the number
 * of that address's connections still unauthenticated; it also counts
 * refusals so the daemon logs the first one of an address at once and then
 * one summary line per address and minute instead of one line per
 * connection. Eviction policy and the global caps live in the caller.
 * The table is fixed-size: when every slot is in use, addresses share one
 * overflow entry (stricter, never unbounded). */
#ifndef TSS_DAEMON_ADMISSION_H
#define TSS_DAEMON_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/ratelimit.h"

#define TSS_ADMIT_SLOTS 1024
#define TSS_ADMIT_REPORT_MS 60000

typedef struct {
    uint8_t key[17]; /* family byte + IPv4/IPv6 address */
    bool used;
    tss_bucket bucket;
    size_t unauth;              /* connections of this address not yet authenticated */
    uint32_t refused, evicted;  /* since the last report */
    char name[64];              /* "127.0.0.1" */
} tss_admit_entry;

typedef struct {
    uint32_t rate;     /* new connections per second and address */
    uint32_t burst;    /* bucket size */
    tss_admit_entry slots[TSS_ADMIT_SLOTS];
    tss_admit_entry overflow;
    int64_t last_report;
} tss_admit;

void tss_admit_init(tss_admit *a, uint32_t rate, int64_t now);
/* The entry of a peer address (never NULL: the overflow entry when full). */
tss_admit_entry *tss_admit_lookup(tss_admit *a, const struct sockaddr_storage *ss, int64_t now);
/* Take one token for a new connection; false: over the rate. */
bool tss_admit_take(tss_admit *a, tss_admit_entry *e, int64_t now);
/* Give the token back: the connection was refused by a cap after all, or it
 * authenticated. So the rate bounds the connections an address leaves
 * unauthenticated (idle, evicted, failed TLS), not those it uses. */
void tss_admit_refund(tss_admit *a, tss_admit_entry *e);
/* Count a refusal/eviction; true if it is the first of this address since
 * the last report (log it individually). */
bool tss_admit_note_refused(tss_admit_entry *e);
bool tss_admit_note_evicted(tss_admit_entry *e);
/* Every TSS_ADMIT_REPORT_MS: report(e, arg) for each address with refusals
 * or evictions since the last report, then reset the counts. */
void tss_admit_report(tss_admit *a, int64_t now,
                      void (*report)(const tss_admit_entry *e, void *arg), void *arg);

#endif
