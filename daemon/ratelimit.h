/* A token bucket (integer arithmetic, monotonic milliseconds): `rate` tokens
 * a second, at most `burst` saved up. Used per operator identity by the
 * coordinator so that one chatty client cannot take the service from others
 * (docs/OPERATIONS.md "Rate limits"). */
#ifndef TSS_DAEMON_RATELIMIT_H
#define TSS_DAEMON_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t milli;  /* tokens x 1000 */
    int64_t last_ms; /* when milli was last topped up */
    bool init;
} tss_bucket;

/* Take one token. false: refused, *retry_ms is when the next token is due.
 * rate 0 disables the limit (always true). */
bool tss_bucket_take(tss_bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms,
                     uint32_t *retry_ms);

/* Give one token back (never above burst): the taken one was not used. */
void tss_bucket_refund(tss_bucket *b, uint32_t burst);
/* Full (nothing to remember about its user) at now_ms. */
bool tss_bucket_full(const tss_bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms);

#endif
