/* policy/: request content decoding and digests (against ethers' signing
 * hashes), the policy file schema, the table-driven policy engine, and the
 * durable velocity state (restarts, clock steps, atomic charging). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eth/eip191.h"
#include "eth/tx.h"
#include "policy/policy.h"
#include "policy/request.h"
#include "policy/velocity.h"
#include "tests/unit/harness.h"
#include "util/hex.h"

static bool detail_has(const char *s) { return strstr(tss_error_detail(), s) != NULL; }

static uint8_t *unhex(const char *hex, size_t *len) {
    if (hex[0] == '0' && hex[1] == 'x') hex += 2;
    size_t n = strlen(hex) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b || !tss_is_ok(tss_hex_decode(b, n, hex, "test hex"))) abort();
    *len = n;
    return b;
}

/* Signed transactions and their signing hashes from ethers v6.17 (as in
 * test_eth_tx_types.c). */
static const struct {
    int type;
    const char *hash, *raw;
} kat[] = {
    {1, "9f32a506dae3b8fc13f2b2cbc95569ed2eaa3df1561dc1a2b1f214f2e3814eb4",
     "01f8a501038504a817c80082c3509435353535353535353535353535353535353535358203e884deadbeeff838f"
     "7940000000000000000000000000000000000000001e1a000000000000000000000000000000000000000000000"
     "0000000000000000000201a08e0fa14bc17756df6929301aa52c685dae88c4a96482e03bd03ecd5af60045aba0"
     "452b0791c76801e6e8fb7d94c234e5f5fa675336d1303548707b5c479b390725"},
    {3, "d1a7532c9c6441e90a278262cd2925234e91b27f64e87bd8780ffb64206b8058",
     "03f8cd0103843b9aca008506fc23ac0082c3509435353535353535353535353535353535353535358203e884de"
     "adbeeff838f7940000000000000000000000000000000000000001e1a000000000000000000000000000000000"
     "0000000000000000000000000000000207e1a001ababababababababababababababababababababababababab"
     "abababababab80a0bd4ee735df30e46c356d5f9bf638d8c15d303d2c09bcd9c29bd00afc75118c6ba02c93618a"
     "faaa8e734e761546cc227c62b69a593086083c378128926f580e9d74"},
    {4, "03893f27e70be2ed2de795ac59a9bd296121474fb85d4b86bf5adfb3a75fbdf3",
     "04f901080103843b9aca008506fc23ac0082c3509435353535353535353535353535353535353535358203e884"
     "deadbeeff838f7940000000000000000000000000000000000000001e1a0000000000000000000000000000000"
     "0000000000000000000000000000000002f85cf85a0194000000000000000000000000000000000000dead0701"
     "a0ba2aa6f2fe496f566cac4312384ad4fb5837366ab7a52231dd627c9b975b68f0a07bbe330ba90de322a1baf0"
     "daa7268e64c2d78dbdba1f9a9ac0ecddff53881cb480a081cbc10722e8e686bb3614ef6716dabd29fdadd4d0c4"
     "09e1690524b55e77bb8fa027828b3a2f9073c9604437e72a65772aa7e5149426754a76ecdca79b7907f0b0"},
};

static const char mail[] =
    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\","
    "\"type\":\"string\"},{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":"
    "\"verifyingContract\",\"type\":\"address\"}],\"Person\":[{\"name\":\"name\",\"type\":"
    "\"string\"},{\"name\":\"wallet\",\"type\":\"address\"}],\"Mail\":[{\"name\":\"from\","
    "\"type\":\"Person\"},{\"name\":\"to\",\"type\":\"Person\"},{\"name\":\"contents\",\"type\":"
    "\"string\"}]},\"primaryType\":\"Mail\",\"domain\":{\"name\":\"Ether Mail\",\"version\":\"1\","
    "\"chainId\":1,\"verifyingContract\":\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"},"
    "\"message\":{\"from\":{\"name\":\"Cow\",\"wallet\":"
    "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},\"to\":{\"name\":\"Bob\",\"wallet\":"
    "\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},\"contents\":\"Hello, Bob!\"}}";

/* The unsigned serialisation of kat[i] into w. */
static void unsigned_of(size_t i, tss_writer *w) {
    size_t n;
    uint8_t *raw = unhex(kat[i].raw, &n);
    tss_eth_signed_tx stx;
    CHECK_OK(tss_eth_tx_decode_signed(&stx, raw, n));
    tss_writer_init(w, 8192);
    CHECK_OK(tss_eth_tx_encode_unsigned(&stx.tx, w));
    tss_eth_signed_tx_free(&stx);
    free(raw);
}

static void request_digests(void) {
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        tss_writer body, enc;
        unsigned_of(i, &body);
        tss_request req = {TSS_REQ_TX, body.data, body.len}, back;
        tss_writer_init(&enc, TSS_REQ_MAX_ENCODED);
        CHECK_OK(tss_request_encode(&enc, &req));
        CHECK_OK(tss_request_decode(&back, enc.data, enc.len));
        CHECK(back.type == TSS_REQ_TX && back.body_len == body.len);
        tss_req_view v;
        CHECK_OK(tss_request_evaluate(&back, &v));
        size_t hn;
        uint8_t *want = unhex(kat[i].hash, &hn);
        CHECK(memcmp(v.digest, want, 32) == 0); /* what ethers signs */
        CHECK(v.tx_type == kat[i].type && v.has_to && v.to[0] == 0x35 && v.chain_id[31] == 1 &&
              v.has_selector && v.selector[0] == 0xde && v.value[30] == 0x03 &&
              v.value[31] == 0xe8);
        /* Non-canonical: a trailing byte, or the signed form, is refused. */
        uint8_t *bad = malloc(body.len + 1);
        memcpy(bad, body.data, body.len);
        bad[body.len] = 0;
        tss_request r2 = {TSS_REQ_TX, bad, body.len + 1};
        CHECK(!tss_is_ok(tss_request_evaluate(&r2, &v)));
        size_t rn;
        uint8_t *raw = unhex(kat[i].raw, &rn);
        tss_request r3 = {TSS_REQ_TX, raw, rn};
        CHECK(!tss_is_ok(tss_request_evaluate(&r3, &v)));
        free(raw);
        free(bad);
        free(want);
        tss_writer_free(&body);
        tss_writer_free(&enc);
    }
    /* EIP-712: the EIP's Mail example digest and its domain. */
    tss_request td = {TSS_REQ_EIP712, (const uint8_t *)mail, strlen(mail)};
    tss_req_view v;
    CHECK_OK(tss_request_evaluate(&td, &v));
    size_t hn;
    uint8_t *want = unhex("be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2", &hn);
    CHECK(memcmp(v.digest, want, 32) == 0);
    CHECK(v.has_name && strcmp(v.name, "Ether Mail") == 0 && v.has_chain_id &&
          v.chain_id[31] == 1 && v.has_verifying_contract && v.verifying_contract[0] == 0xcc);
    free(want);
    /* EIP-191 and raw. */
    tss_request msg = {TSS_REQ_EIP191, (const uint8_t *)"hello", 5};
    uint8_t d[32];
    CHECK_OK(tss_eip191_digest(d, (const uint8_t *)"hello", 5));
    CHECK_OK(tss_request_evaluate(&msg, &v));
    CHECK(memcmp(v.digest, d, 32) == 0 && !v.has_chain_id);
    tss_request raw = {TSS_REQ_RAW, d, 32};
    CHECK_OK(tss_request_evaluate(&raw, &v));
    CHECK(memcmp(v.digest, d, 32) == 0 && v.type == TSS_REQ_RAW);
}

static void request_refusals(void) {
    tss_request r;
    /* version, type, lengths, trailing bytes */
    const uint8_t v2[] = {2, 0, 0, 0, 0, 32};
    CHECK_ERR(tss_request_decode(&r, v2, sizeof v2), TSS_E_TRUNCATED);
    uint8_t ok[6 + 32] = {1, 0, 0, 0, 0, 32};
    CHECK_OK(tss_request_decode(&r, ok, sizeof ok));
    ok[0] = 2;
    CHECK_ERR(tss_request_decode(&r, ok, sizeof ok), TSS_E_UNSUPPORTED);
    ok[0] = 1;
    ok[1] = 4;
    CHECK_ERR(tss_request_decode(&r, ok, sizeof ok), TSS_E_UNSUPPORTED);
    CHECK(detail_has("unknown type 4"));
    ok[1] = 0;
    uint8_t longer[sizeof ok + 1] = {0};
    memcpy(longer, ok, sizeof ok);
    CHECK_ERR(tss_request_decode(&r, longer, sizeof longer), TSS_E_TRAILING);
    ok[5] = 31;
    CHECK_ERR(tss_request_decode(&r, ok, sizeof ok - 1), TSS_E_INVALID);
    CHECK(detail_has("raw digest is 32 bytes"));
    const uint8_t empty712[] = {1, 3, 0, 0, 0, 0};
    CHECK_ERR(tss_request_decode(&r, empty712, sizeof empty712), TSS_E_INVALID);
    const uint8_t huge[] = {1, 2, 0, 0x10, 0, 0};
    CHECK(!tss_is_ok(tss_request_decode(&r, huge, sizeof huge)));
    /* A body that does not parse is refused by evaluate. */
    tss_request bad = {TSS_REQ_EIP712, (const uint8_t *)"{}", 2};
    tss_req_view v;
    CHECK(!tss_is_ok(tss_request_evaluate(&bad, &v)));
}

static void request_hash_binds(void) {
    uint8_t d[32] = {1}, h1[32], h2[32], h3[32], h4[32];
    tss_request a = {TSS_REQ_RAW, d, 32}, b = {TSS_REQ_EIP191, d, 32};
    tss_bip32_path p0 = {0}, p1 = {.depth = 1, .index = {7}};
    tss_request_hash("k1", &p0, &a, h1);
    tss_request_hash("k2", &p0, &a, h2);
    tss_request_hash("k1", &p1, &a, h3);
    tss_request_hash("k1", &p0, &b, h4);
    CHECK(memcmp(h1, h2, 32) != 0 && memcmp(h1, h3, 32) != 0 && memcmp(h1, h4, 32) != 0);
    tss_request_hash("k1", NULL, &a, h2);
    CHECK(memcmp(h1, h2, 32) == 0);
}

/* ---- policy file ----------------------------------------------------------------------- */

static const char policy_text[] =
    "version: 1\n"
    "groups:\n"
    "  - name: treasury\n"
    "    ids: [treasury-1, treasury-2]\n"
    "rules:\n"
    "  - name: blocked\n"
    "    action: deny\n"
    "    keys: ['*']\n"
    "    types: [tx]\n"
    "    to_allow: ['0x0000000000000000000000000000000000000000']\n"
    "  - name: small\n"
    "    keys: [treasury]\n"
    "    types: [tx]\n"
    "    chain_ids: [1, 10]\n"
    "    to_allow: ['0x3535353535353535353535353535353535353535']\n"
    "    selectors: ['0xdeadbeef', none]\n"
    "    max_value: '1000'\n"
    "    window: 24h\n"
    "    window_max_value: '2500'\n"
    "    window_max_count: 5\n"
    "  - name: large\n"
    "    keys: [treasury]\n"
    "    to_allow: ['0x3535353535353535353535353535353535353535']\n"
    "    approvals: {m: 2, approvers: [alice, bob, carol]}\n"
    "  - name: permits\n"
    "    keys: [treasury-1]\n"
    "    types: [eip712]\n"
    "    eip712_domains:\n"
    "      - {name: Ether Mail, chain_id: 1, verifying_contract: "
    "'0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC'}\n"
    "  - name: office-hours-messages\n"
    "    keys: [ops]\n"
    "    types: [eip191]\n"
    "    hours: '08:00-18:00'\n"
    "  - name: ops-raw\n"
    "    keys: [ops]\n"
    "    types: [raw]\n";

typedef struct {
    uint8_t value[32];
    uint64_t count;
} fake_window;

static void fake_sum(void *ctx, const char *rule, const char *key, uint64_t since,
                     uint8_t value[32], uint64_t *count) {
    (void)rule;
    (void)key;
    (void)since;
    const fake_window *w = ctx;
    memcpy(value, w->value, 32);
    *count = w->count;
}

static bool fake_approve(void *ctx, const uint8_t h[32], const char *const *names, size_t n,
                         uint32_t m, char *why, size_t cap) {
    (void)h;
    (void)names;
    (void)n;
    unsigned have = *(const unsigned *)ctx;
    if (have >= m) return true;
    snprintf(why, cap, "%u of %u", have, m);
    return false;
}

static void tx_view(tss_req_view *v, uint64_t chain, uint8_t to_byte, uint32_t value,
                    const char *selector) {
    memset(v, 0, sizeof *v);
    v->type = TSS_REQ_TX;
    v->tx_type = 2;
    v->has_chain_id = true;
    v->chain_id[31] = (uint8_t)chain;
    v->has_to = true;
    memset(v->to, to_byte, 20);
    v->value[28] = (uint8_t)(value >> 24);
    v->value[29] = (uint8_t)(value >> 16);
    v->value[30] = (uint8_t)(value >> 8);
    v->value[31] = (uint8_t)value;
    if (selector) {
        v->has_selector = true;
        v->data_len = 4;
        CHECK_OK(tss_hex_decode(v->selector, 4, selector, "sel"));
    }
}

static void policy_table(void) {
    tss_policy p;
    CHECK_OK(tss_policy_load_buffer(&p, "policy.yaml", policy_text, strlen(policy_text)));
    CHECK(p.rule_count == 6 && p.group_count == 1);
    CHECK(tss_policy_covers_key(&p, "treasury-2") && tss_policy_covers_key(&p, "anything"));
    uint8_t h[32] = {0};
    fake_window win;
    unsigned approvals;
    tss_policy_windows windows = {&win, fake_sum};
    tss_policy_approver approver = {&approvals, fake_approve};
    uint64_t noon = 1700000000000ull - (1700000000000ull % 86400000) + 12 * 3600000ull;
    struct {
        const char *name, *key;
        int kind; /* 0 tx, 1 raw, 2 eip191, 3 eip712 (mail) */
        uint64_t chain;
        uint8_t to;
        uint32_t value;
        const char *sel;
        uint32_t spent, count;
        unsigned approvals;
        uint64_t now;
        bool allow;
        const char *rule, *reason;
    } cases[] = {
        {"plain transfer within limits", "treasury-1", 0, 1, 0x35, 1000, NULL, 0, 0, 0, noon,
         true, "small", NULL},
        {"allowed selector", "treasury-2", 0, 10, 0x35, 5, "deadbeef", 0, 0, 0, noon, true,
         "small", NULL},
        {"other selector: falls to approvals", "treasury-1", 0, 1, 0x35, 5, "a9059cbb", 0, 0, 1,
         noon, false, NULL, "rule small: method selector 0xa9059cbb not allowed"},
        {"value over max_value needs approvals", "treasury-1", 0, 1, 0x35, 1001, NULL, 0, 0, 1,
         noon, false, NULL, "value 1001 wei > max_value 1000"},
        {"value over max_value with 2 approvals", "treasury-1", 0, 1, 0x35, 1001, NULL, 0, 0, 2,
         noon, true, "large", NULL},
        {"swapped to", "treasury-1", 0, 1, 0x36, 1, NULL, 0, 0, 3, noon, false, NULL,
         "not on to_allow"},
        {"denied address wins first", "treasury-1", 0, 1, 0x00, 1, NULL, 0, 0, 3, noon, false,
         "blocked", "rule blocked denies it"},
        {"wrong chain", "treasury-1", 0, 5, 0x35, 1, NULL, 0, 0, 0, noon, false, NULL,
         "chain id 5 not allowed"},
        {"window value exhausted", "treasury-1", 0, 1, 0x35, 1000, NULL, 1501, 1, 0, noon, false,
         NULL, "window limit: 1501 wei already spent"},
        {"window value exactly reached", "treasury-1", 0, 1, 0x35, 1000, NULL, 1500, 1, 0, noon,
         true, "small", NULL},
        {"window count exhausted", "treasury-1", 0, 1, 0x35, 1, NULL, 0, 5, 0, noon, false, NULL,
         "window_max_count 5"},
        {"raw digest forbidden by default", "treasury-1", 1, 0, 0, 0, NULL, 0, 0, 3, noon, false,
         NULL, "request type raw not allowed (raw needs types: [raw])"},
        {"raw digest where listed", "ops", 1, 0, 0, 0, NULL, 0, 0, 0, noon, true, "ops-raw",
         NULL},
        {"message in office hours", "ops", 2, 0, 0, 0, NULL, 0, 0, 0, noon, true,
         "office-hours-messages", NULL},
        {"message at night", "ops", 2, 0, 0, 0, NULL, 0, 0, 0, noon + 9 * 3600000ull, false, NULL,
         "outside hours 08:00-18:00 UTC (now 21:00)"},
        {"typed data on the domain allowlist", "treasury-1", 3, 0, 0, 0, NULL, 0, 0, 0, noon,
         true, "permits", NULL},
        {"typed data for another key", "treasury-2", 3, 0, 0, 0, NULL, 0, 0, 0, noon, false, NULL,
         "request type eip712 not allowed"},
        {"unknown key", "other", 2, 0, 0, 0, NULL, 0, 0, 0, noon, false, NULL,
         "no rule allows it"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tss_req_view v;
        if (cases[i].kind == 0) {
            tx_view(&v, cases[i].chain, cases[i].to, cases[i].value, cases[i].sel);
        } else if (cases[i].kind == 1) {
            memset(&v, 0, sizeof v);
            v.type = TSS_REQ_RAW;
        } else if (cases[i].kind == 2) {
            memset(&v, 0, sizeof v);
            v.type = TSS_REQ_EIP191;
        } else {
            tss_request td = {TSS_REQ_EIP712, (const uint8_t *)mail, strlen(mail)};
            CHECK_OK(tss_request_evaluate(&td, &v));
        }
        memset(&win, 0, sizeof win);
        win.value[30] = (uint8_t)(cases[i].spent >> 8);
        win.value[31] = (uint8_t)cases[i].spent;
        win.count = cases[i].count;
        approvals = cases[i].approvals;
        tss_policy_input in = {cases[i].key, &v, h, cases[i].now, &windows, &approver};
        tss_policy_decision d;
        tss_policy_evaluate(&p, &in, &d);
        bool ok = d.allow == cases[i].allow &&
                  (!cases[i].rule || strcmp(d.rule_name, cases[i].rule) == 0) &&
                  (!cases[i].reason || strstr(d.reason, cases[i].reason));
        if (!ok) printf("case '%s': allow=%d rule=%s reason=%s\n", cases[i].name, d.allow,
                        d.rule_name, d.reason);
        CHECK(ok);
        if (d.allow && strcmp(d.rule_name, "small") == 0)
            CHECK(d.charge && d.value[31] == (uint8_t)cases[i].value);
    }
    /* Without a verifier (tssctl policy check) a rule needing approvals never matches. */
    tss_req_view v;
    tx_view(&v, 1, 0x35, 5000, NULL);
    tss_policy_input in = {"treasury-1", &v, h, noon, NULL, NULL};
    tss_policy_decision d;
    tss_policy_evaluate(&p, &in, &d);
    CHECK(!d.allow && strstr(d.reason, "rule large: needs 2 approvals"));
    tss_policy_free(&p);
}

static void policy_file_errors(void) {
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"version: 1\nrules: []\n", "policy.yaml:2:8: rules: at least 1 entry is required"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n    types: [tx, bogus]\n",
         "policy.yaml:5:17: rules[0].types[1]: unknown request type 'bogus'"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n    to_allow: ['0x12']\n",
         "policy.yaml:5:16: rules[0].to_allow[0]"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n    window_max_count: 3\n",
         "rules[0].window: window_max_value and window_max_count need a window"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n  - name: a\n    keys: [j]\n",
         "rules[1]: duplicate rule name 'a'"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n    hours: '8-18'\n",
         "policy.yaml:5:12: rules[0].hours: expected HH:MM-HH:MM"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n    max_value: -1\n",
         "rules[0].max_value"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n    approvals: {m: 3, approvers: [x, y]}\n",
         "m = 3 exceeds the 2 approvers listed"},
        {"version: 1\nrules:\n  - name: a\n    keys: [k]\n    colour: red\n",
         "policy.yaml:5:5: rules[0].colour: unknown key"},
        {"version: 2\nrules:\n  - name: a\n    keys: [k]\n", "policy.yaml:1:10: version"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tss_policy p;
        tss_result r = tss_policy_load_buffer(&p, "policy.yaml", bad[i].text, strlen(bad[i].text));
        bool ok = r.err == TSS_E_CONFIG && detail_has(bad[i].want);
        if (!ok) printf("case %zu: %s\n", i, tss_error_detail());
        CHECK(ok);
    }
}

/* ---- velocity ------------------------------------------------------------------------------ */

static void velocity_durable(void) {
    char dir[256];
    harness_tmpdir(dir, sizeof dir);
    const uint64_t day = 86400000ull, t0 = 1700000000000ull;
    tss_velocity *v;
    CHECK_OK(tss_velocity_open(&v, dir, t0, 1000));
    CHECK(tss_velocity_now(v, 1000) == t0);
    uint8_t val[32] = {0}, sum[32];
    uint64_t count;
    val[31] = 100;
    CHECK_OK(tss_velocity_charge(v, "small", "k", tss_velocity_now(v, 1000), val));
    CHECK_OK(tss_velocity_charge(v, "small", "k", tss_velocity_now(v, 2000), val));
    CHECK_OK(tss_velocity_charge(v, "small", "other", tss_velocity_now(v, 2000), val));
    tss_velocity_sum(v, "small", "k", t0 - day, sum, &count);
    CHECK(count == 2 && sum[31] == 200);
    /* Wall clock stepped back by a day while running: the window clock
     * follows the monotonic clock and ignores it. */
    CHECK(tss_velocity_now(v, 3000) == t0 + 2000);
    tss_velocity_close(v);

    /* Restart with the wall clock a day BEHIND: the clock starts at the
     * high-water time, so the old charges stay in the window. */
    CHECK_OK(tss_velocity_open(&v, dir, t0 - day, 50));
    CHECK(tss_velocity_now(v, 50) == t0 + 1000);
    tss_velocity_sum(v, "small", "k", tss_velocity_now(v, 50) - day + 1, sum, &count);
    CHECK(count == 2 && sum[31] == 200);
    tss_velocity_close(v);

    /* Restart a day later: the records have left a 24h window. */
    CHECK_OK(tss_velocity_open(&v, dir, t0 + day + 2000, 0));
    tss_velocity_sum(v, "small", "k", tss_velocity_now(v, 0) - day + 1, sum, &count);
    CHECK(count == 0);
    tss_velocity_close(v);

    /* A damaged file stops the party rather than reopening windows. */
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, TSS_VELOCITY_FILE);
    size_t len;
    char *img = harness_read_file(path, &len);
    uint64_t hw;
    size_t n;
    CHECK_OK(tss_velocity_parse((const uint8_t *)img, len, &hw, &n));
    CHECK(n == 3 && hw == t0 + 1000);
    img[20] ^= 1;
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(img, 1, len, f) == len);
    if (f) fclose(f);
    CHECK_ERR(tss_velocity_open(&v, dir, t0, 0), TSS_E_CORRUPT);
    CHECK(detail_has("checksum mismatch"));
    free(img);

    /* A failed write is not counted: make the directory read-only. */
    char dir2[256];
    harness_tmpdir(dir2, sizeof dir2);
    CHECK_OK(tss_velocity_open(&v, dir2, t0, 0));
    CHECK(chmod(dir2, 0500) == 0);
    if (geteuid() != 0) { /* root ignores the mode */
        CHECK(!tss_is_ok(tss_velocity_charge(v, "small", "k", t0, val)));
        tss_velocity_sum(v, "small", "k", 0, sum, &count);
        CHECK(count == 0);
    }
    CHECK(chmod(dir2, 0700) == 0);
    tss_velocity_close(v);
    harness_rmtree(dir);
    harness_rmtree(dir2);
}

/* The engine and the store together: N charges race for a window of 3:
 * evaluate-then-charge in one step admits exactly 3. */
static void velocity_with_policy(void) {
    static const char text[] = "version: 1\nrules:\n  - name: three\n    keys: [k]\n"
                               "    types: [eip191]\n    window: 1h\n    window_max_count: 3\n";
    tss_policy p;
    CHECK_OK(tss_policy_load_buffer(&p, "p.yaml", text, strlen(text)));
    char dir[256];
    harness_tmpdir(dir, sizeof dir);
    tss_velocity *v;
    const uint64_t t0 = 1700000000000ull;
    CHECK_OK(tss_velocity_open(&v, dir, t0, 0));
    tss_policy_windows w = {v, tss_velocity_sum};
    tss_req_view view;
    memset(&view, 0, sizeof view);
    view.type = TSS_REQ_EIP191;
    int allowed = 0;
    for (int i = 0; i < 6; i++) {
        uint64_t now = tss_velocity_now(v, (uint64_t)i * 1000);
        tss_policy_input in = {"k", &view, NULL, now, &w, NULL};
        tss_policy_decision d;
        tss_policy_evaluate(&p, &in, &d);
        if (d.allow) {
            CHECK(d.charge);
            CHECK_OK(tss_velocity_charge(v, d.rule_name, "k", now, d.value));
            allowed++;
        } else {
            CHECK(strstr(d.reason, "rule three: window limit"));
        }
    }
    CHECK(allowed == 3);
    /* An hour later the window has room again. */
    uint64_t later = tss_velocity_now(v, 3600000 + 1000);
    tss_policy_input in = {"k", &view, NULL, later, &w, NULL};
    tss_policy_decision d;
    tss_policy_evaluate(&p, &in, &d);
    CHECK(d.allow);
    tss_velocity_close(v);
    tss_policy_free(&p);
    harness_rmtree(dir);
}

/* The packaged example (docs/OPERATIONS.md worked example) loads and means what it says. */
static void example_policy(void) {
    const char *d = getenv("TSS_EXAMPLES_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/policy.yaml", d && *d ? d : "packaging/examples");
    tss_policy p;
    CHECK_OK(tss_policy_load_file(&p, path));
    CHECK(p.rule_count == 4 && strcmp(p.rules[1].name, "treasury-daily") == 0 &&
          p.rules[1].window_ms == 86400000 && p.rules[1].window_max_count == 20 &&
          p.rules[2].approvals.m == 2 && p.rules[2].approvals.approver_count == 3);
    tss_req_view v;
    tx_view(&v, 1, 0x11, 5, NULL);
    tss_policy_input in = {"treasury-1", &v, NULL, 1700000000000ull, NULL, NULL};
    tss_policy_decision dec;
    tss_policy_evaluate(&p, &in, &dec);
    CHECK(dec.allow && strcmp(dec.rule_name, "treasury-daily") == 0);
    v.value[20] = 1; /* far above 10 ETH: needs the approvals rule */
    tss_policy_evaluate(&p, &in, &dec);
    CHECK(!dec.allow && strstr(dec.reason, "rule treasury-large: needs 2 approvals"));
    tss_policy_free(&p);
}

int main(void) {
    RUN(request_digests);
    RUN(request_refusals);
    RUN(request_hash_binds);
    RUN(policy_table);
    RUN(policy_file_errors);
    RUN(velocity_durable);
    RUN(velocity_with_policy);
    RUN(example_policy);
    return harness_finish("policy");
}
