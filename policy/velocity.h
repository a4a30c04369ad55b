/* Durable per-party velocity state for policy windows (issue 16 item 4;
 * docs/OPERATIONS.md "Signing policy: windows").
 *
 * Every allowed request under a rule with a window is charged here, as a
 * record (rule, key id, time, value), and the whole state is written
 * atomically (temp file, fsync, rename, fsync of the directory) before the
 * caller lets any message of the session leave. The file ends in a
 * BLAKE2b-256 checksum; a file that fails it stops the party (resetting it
 * would reopen every window).
 *
 * Clock: the window clock never runs backwards. At open it starts at
 * max(wall clock, the latest time on file) and from then on advances by the
 * monotonic clock only, so stepping the wall clock back (or forward) while
 * the party runs changes nothing, and stepping it back across a restart
 * cannot reopen a window either. Records older than 31 days (the longest
 * window) are pruned. */
#ifndef TSS_POLICY_VELOCITY_H
#define TSS_POLICY_VELOCITY_H

#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

#define TSS_VELOCITY_FILE "policy-velocity.state"
#define TSS_VELOCITY_MAX_RECORDS 200000
#define TSS_VELOCITY_KEEP_MS (31ull * 86400000)

typedef struct tss_velocity tss_velocity;

/* Load dir/policy-velocity.state (absent: empty). wall_ms and mono_ms are
 * the clocks at open (Unix ms and CLOCK_MONOTONIC ms). */
TSS_MUST_CHECK tss_result tss_velocity_open(tss_velocity **out, const char *dir, uint64_t wall_ms,
                                            uint64_t mono_ms);
void tss_velocity_close(tss_velocity *v);

/* The window clock at monotonic time mono_ms (Unix ms, never decreasing). */
uint64_t tss_velocity_now(const tss_velocity *v, uint64_t mono_ms);

/* Sum of values and number of records of (rule, key) at times >= since_ms
 * (the tss_policy_windows callback shape; ctx is the tss_velocity). */
void tss_velocity_sum(void *ctx, const char *rule, const char *key_id, uint64_t since_ms,
                      uint8_t value[32], uint64_t *count);

/* Append a record at now_ms and make the state durable; on failure the
 * record is not kept (in memory or on disk). */
TSS_MUST_CHECK tss_result tss_velocity_charge(tss_velocity *v, const char *rule,
                                              const char *key_id, uint64_t now_ms,
                                              const uint8_t value[32]);

/* Parse a state file image (for the fuzz target and tests); *count records. */
TSS_MUST_CHECK tss_result tss_velocity_parse(const uint8_t *buf, size_t len, uint64_t *high_water,
                                             size_t *count);

#endif
