#include "daemon/ratelimit.h"

bool tss_bucket_take(tss_bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms,
                     uint32_t *retry_ms) {
    *retry_ms = 0;
    if (rate == 0) return true;
    if (burst == 0) burst = 1;
    const uint64_t full = (uint64_t)burst * 1000;
    if (!b->init || now_ms < b->last_ms) { /* first use, or a clock that went back */
        b->milli = full;
        b->last_ms = now_ms;
        b->init = true;
    }
    /* rate tokens/s = rate milli-tokens/ms. */
    uint64_t add = (uint64_t)(now_ms - b->last_ms) * rate;
    b->milli = add >= full - b->milli ? full : b->milli + add;
    b->last_ms = now_ms;
    if (b->milli >= 1000) {
        b->milli -= 1000;
        return true;
    }
    uint64_t missing = 1000 - b->milli;
    *retry_ms = (uint32_t)((missing + rate - 1) / rate);
    return false;
}

void tss_bucket_refund(tss_bucket *b, uint32_t burst) {
    if (!b->init) return; /* never taken from: full */
    const uint64_t full = (uint64_t)(burst ? burst : 1) * 1000;
    b->milli = b->milli + 1000 >= full ? full : b->milli + 1000;
}

bool tss_bucket_full(const tss_bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms) {
    if (!b->init || rate == 0 || now_ms < b->last_ms) return true;
    const uint64_t full = (uint64_t)(burst ? burst : 1) * 1000;
    return (uint64_t)(now_ms - b->last_ms) * rate >= full - b->milli;
}
