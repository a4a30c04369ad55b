/* The presignature pool's policy; the why is in daemon/pool_policy.h. */
#include "daemon/pool_policy.h"

uint32_t tss_pool_high(const tss_pool_params *p) {
    if (p->high) return p->high;
    return p->target > UINT32_MAX / 2 ? UINT32_MAX : 2 * p->target;
}

uint32_t tss_pool_reserve(uint32_t max_sessions) {
    uint32_t r = max_sessions / 4;
    return r ? r : 1;
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

uint32_t tss_pool_wanted(const tss_pool_params *p, tss_pool_key_state *st,
                         const tss_pool_load *load) {
    if (p->target == 0) {
        st->refilling = false;
        return 0;
    }
    if (!st->refilling && st->usable <= p->low) st->refilling = true;
    if (st->refilling && st->usable >= p->target) st->refilling = false;
    if (!st->refilling) return 0;
    uint64_t have = (uint64_t)st->usable + st->running;
    if (have >= p->target) return 0;
    uint32_t want = p->target - (uint32_t)have;
    uint64_t all = (uint64_t)st->total + st->running;
    uint32_t high = tss_pool_high(p);
    want = all >= high ? 0 : min_u32(want, high - (uint32_t)all);
    /* Online requests first. */
    if (load->queued) return 0;
    want = load->running_all >= load->max_refill ? 0
                                                 : min_u32(want, load->max_refill - load->running_all);
    uint32_t reserve = tss_pool_reserve(load->max_sessions);
    uint64_t busy = (uint64_t)load->sessions + reserve;
    want = busy >= load->max_sessions ? 0 : min_u32(want, load->max_sessions - (uint32_t)busy);
    return want;
}

int64_t tss_pool_expiry(const tss_pool_params *p, int64_t made_ms) {
    if (p->max_age_ms == 0 || p->max_age_ms > (uint64_t)INT64_MAX ||
        made_ms > INT64_MAX - (int64_t)p->max_age_ms)
        return INT64_MAX;
    return made_ms + (int64_t)p->max_age_ms;
}

bool tss_pool_expired(const tss_pool_params *p, int64_t made_ms, int64_t now_ms) {
    return now_ms >= tss_pool_expiry(p, made_ms);
}
