/* daemon/pool_policy: refill decisions and retirement (sans-I/O), and the
 * coordinator's pool: configuration section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/coordinator.h"
#include "daemon/pool_policy.h"
#include "tests/unit/harness.h"
#include "util/bytes.h"
#include "wire/frame.h"
#include "wire/msg.h"

static const tss_pool_load idle = {.running_all = 0, .max_refill = 8, .sessions = 0,
                                   .max_sessions = 64, .queued = 0};

static void off_without_target(void) {
    tss_pool_params p = {.target = 0};
    tss_pool_key_state st = {.usable = 0, .total = 0};
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0);
    CHECK(!st.refilling);
}

static void refills_below_low_up_to_target(void) {
    tss_pool_params p = {.target = 10, .low = 4, .high = 20};
    tss_pool_key_state st = {.usable = 5, .total = 5};
    /* Above low: no cycle yet, however far below target. */
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0 && !st.refilling);
    st.usable = st.total = 4;
    CHECK(tss_pool_wanted(&p, &st, &idle) == 6 && st.refilling);
    /* Sessions running count toward target. */
    st.running = 6;
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0 && st.refilling);
    /* The cycle goes on above low until target is reached (hysteresis). */
    st.running = 0;
    st.usable = st.total = 7;
    CHECK(tss_pool_wanted(&p, &st, &idle) == 3 && st.refilling);
    st.usable = st.total = 10;
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0 && !st.refilling);
    /* Used down to 9: above low, nothing. */
    st.usable = st.total = 9;
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0 && !st.refilling);
}

static void high_caps_the_whole_stock(void) {
    tss_pool_params p = {.target = 10, .low = 4, .high = 12};
    /* A party is down: most of the stock is not usable now, but it counts
     * against high, so flapping cannot grow it without bound. */
    tss_pool_key_state st = {.usable = 0, .total = 9};
    CHECK(tss_pool_wanted(&p, &st, &idle) == 3 && st.refilling);
    st.running = 3;
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0);
    st.running = 0;
    st.total = 12;
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0 && st.refilling);
    st.total = 40; /* e.g. made by tssctl presign */
    CHECK(tss_pool_wanted(&p, &st, &idle) == 0);
    /* high 0 is twice target. */
    tss_pool_params q = {.target = 10, .low = 4, .high = 0};
    CHECK(tss_pool_high(&q) == 20);
    tss_pool_key_state s2 = {.usable = 0, .total = 17};
    CHECK(tss_pool_wanted(&q, &s2, &idle) == 3);
    tss_pool_params big = {.target = UINT32_MAX - 1, .low = 0};
    CHECK(tss_pool_high(&big) == UINT32_MAX);
}

static void yields_to_online_requests(void) {
    tss_pool_params p = {.target = 10, .low = 4, .high = 20};
    tss_pool_key_state st = {.usable = 0, .total = 0};
    tss_pool_load l = idle;
    l.queued = 1; /* a request waits for capacity: no refill */
    CHECK(tss_pool_wanted(&p, &st, &l) == 0 && st.refilling);
    l = idle;
    l.max_refill = 2;
    CHECK(tss_pool_wanted(&p, &st, &l) == 2);
    l.running_all = 2; /* other keys' refills */
    CHECK(tss_pool_wanted(&p, &st, &l) == 0);
    l.running_all = 1;
    CHECK(tss_pool_wanted(&p, &st, &l) == 1);
    /* A quarter of the session slots stays free for online requests. */
    l = idle;
    l.max_sessions = 8;
    CHECK(tss_pool_reserve(8) == 2 && tss_pool_reserve(3) == 1 && tss_pool_reserve(1) == 1);
    l.sessions = 5;
    CHECK(tss_pool_wanted(&p, &st, &l) == 1);
    l.sessions = 6;
    CHECK(tss_pool_wanted(&p, &st, &l) == 0);
    l.sessions = 100;
    CHECK(tss_pool_wanted(&p, &st, &l) == 0);
    l.max_sessions = 1; /* reserve 1: a single-slot coordinator never refills */
    l.sessions = 0;
    CHECK(tss_pool_wanted(&p, &st, &l) == 0);
}

static void retires_by_age(void) {
    tss_pool_params p = {.target = 1, .max_age_ms = 1000};
    CHECK(!tss_pool_expired(&p, 5000, 5999));
    CHECK(tss_pool_expired(&p, 5000, 6000));
    CHECK(tss_pool_expiry(&p, 5000) == 6000);
    tss_pool_params never = {.target = 1, .max_age_ms = 0};
    CHECK(!tss_pool_expired(&never, 0, INT64_MAX - 1));
    CHECK(tss_pool_expiry(&never, 5) == INT64_MAX);
    tss_pool_params huge = {.target = 1, .max_age_ms = UINT64_MAX};
    CHECK(tss_pool_expiry(&huge, 5) == INT64_MAX);
    tss_pool_params late = {.target = 1, .max_age_ms = 10};
    CHECK(tss_pool_expiry(&late, INT64_MAX - 5) == INT64_MAX);
}

/* ---- PRESIG_RELIST (the pool's one frame) ---------------------------------------------- */

static void relist_frame_is_strict(void) {
    tss_writer w;
    tss_writer_init(&w, 256);
    CHECK_OK(tss_wire_presig_relist_encode(&w, "treasury"));
    CHECK(w.len == 4 + 8 && memcmp(w.data + 4, "treasury", 8) == 0);
    char key[TSS_WIRE_MAX_KEY_ID + 1];
    CHECK_OK(tss_wire_presig_relist_decode(key, w.data, w.len));
    CHECK(strcmp(key, "treasury") == 0);
    uint8_t buf[80];
    memcpy(buf, w.data, w.len);
    buf[w.len] = 0;
    CHECK_ERR(tss_wire_presig_relist_decode(key, buf, w.len + 1), TSS_E_TRAILING);
    CHECK(tss_wire_presig_relist_decode(key, buf, w.len - 1).err != TSS_OK);
    buf[6] = '\n'; /* not printable */
    CHECK(tss_wire_presig_relist_decode(key, buf, w.len).err != TSS_OK);
    const uint8_t empty[4] = {0, 0, 0, 0};
    CHECK(tss_wire_presig_relist_decode(key, empty, 4).err != TSS_OK);
    tss_writer_free(&w);
    tss_writer_init(&w, 256);
    CHECK(tss_wire_presig_relist_encode(&w, "").err != TSS_OK);
    char longer[TSS_WIRE_MAX_KEY_ID + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    CHECK(tss_wire_presig_relist_encode(&w, longer).err != TSS_OK);
    tss_writer_free(&w);
    CHECK(tss_wire_type_known(TSS_WIRE_PRESIG_RELIST) &&
          strcmp(tss_wire_type_name(TSS_WIRE_PRESIG_RELIST), "PRESIG_RELIST") == 0);
}

/* ---- configuration -------------------------------------------------------------------- */

#define BASE                                                                      \
    "tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"                             \
    "parties:\n"                                                                  \
    "  - {id: 1, identity: 'urn:tssd:party:1'}\n"                                 \
    "  - {id: 2, identity: 'urn:tssd:party:2'}\n"

static tss_result load(const char *yaml, tss_coordinator_config *c) {
    return tss_config_coordinator_load_buffer(c, "coordinator.yaml", yaml, strlen(yaml));
}

static void fails(const char *yaml, const char *want) {
    tss_coordinator_config c;
    tss_result r = load(yaml, &c);
    CHECK_ERR(r, TSS_E_CONFIG);
    if (!strstr(tss_error_detail(), want)) {
        fprintf(stderr, "got: %s\nwant: %s\n", tss_error_detail(), want);
        CHECK(false);
    }
}

static void config_defaults_and_entries(void) {
    tss_coordinator_config c;
    CHECK_OK(load(BASE, &c));
    CHECK(c.pool.target == 0 && c.pool.low == 0 && c.pool.high == 0 && c.pool.max_age == 0);
    CHECK(c.pool.rate == 50 && c.pool.max_refill == 2 && c.pool.interval == 1000);
    CHECK(c.pool.key_count == 0);
    tss_config_coordinator_free(&c);
    CHECK_OK(load(BASE "pool:\n  target: 8\n  low: 2\n  max_age: 1h\n  rate: 5\n"
                       "  keys:\n  - {key: treasury, target: 64, low: 16, high: 80, max_age: 10m,"
                       " signers: [1, 2]}\n  - {key: hot, target: 4, low: 0}\n",
                  &c));
    CHECK(c.pool.target == 8 && c.pool.low == 2 && c.pool.max_age == 3600000 && c.pool.rate == 5);
    CHECK(c.pool.key_count == 2);
    CHECK(strcmp(c.pool.keys[0].key, "treasury") == 0 && c.pool.keys[0].target == 64 &&
          c.pool.keys[0].low == 16 && c.pool.keys[0].high == 80 &&
          c.pool.keys[0].max_age == 600000 && c.pool.keys[0].signer_count == 2 &&
          c.pool.keys[0].signers[1] == 2);
    CHECK(c.pool.keys[1].high == 0 && c.pool.keys[1].max_age == 0 &&
          c.pool.keys[1].signer_count == 0);
    tss_config_coordinator_free(&c);
}

static void example_config_has_a_pool(void) {
    const char *d = getenv("TSS_EXAMPLES_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/coordinator.yaml", d && *d ? d : "packaging/examples");
    tss_coordinator_config c;
    CHECK_OK(tss_config_coordinator_load_file(&c, path));
    CHECK(c.pool.target == 0 && c.pool.rate == 50 && c.pool.key_count == 1);
    CHECK(c.pool.key_count == 1 && strcmp(c.pool.keys[0].key, "treasury") == 0 &&
          c.pool.keys[0].target == 64 && c.pool.keys[0].max_age == 86400000 &&
          c.pool.keys[0].signer_count == 0);
    tss_config_coordinator_free(&c);
}

static void config_errors_name_the_key(void) {
    fails(BASE "pool: {target: 4, low: 4}\n", "pool.low: must be below target (4)");
    fails(BASE "pool: {target: 4, low: 1, high: 3}\n", "pool.high: must be at least target (4)");
    fails(BASE "pool: {rate: 0}\n", "pool.rate");
    fails(BASE "pool:\n  keys:\n  - {key: a, target: 0, low: 0}\n", "pool.keys[0].target");
    fails(BASE "pool:\n  keys:\n  - {key: a, target: 3}\n", "pool.keys[0]");
    fails(BASE "pool:\n  keys:\n  - {key: a, target: 3, low: 1}\n  - {key: a, target: 3, low: 1}\n",
          "duplicate key 'a' (also keys[0])");
    fails(BASE "pool:\n  keys:\n  - {key: a, target: 3, low: 1, signers: [1, 1]}\n",
          "party 1 named twice");
    fails(BASE "pool:\n  keys:\n  - {key: a, target: 3, low: 1, signers: [0]}\n", "signers");
    fails(BASE "pool: {bogus: 1}\n", "pool.bogus: unknown key");
}

int main(void) {
    RUN(off_without_target);
    RUN(refills_below_low_up_to_target);
    RUN(high_caps_the_whole_stock);
    RUN(yields_to_online_requests);
    RUN(retires_by_age);
    RUN(relist_frame_is_strict);
    RUN(config_defaults_and_entries);
    RUN(config_errors_name_the_key);
    RUN(example_config_has_a_pool);
    return harness_finish("pool_policy");
}
