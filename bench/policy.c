/* Cost of party-enforced signing policy (issue 16), in process, per request:
 * the steps daemon/party/policy_gate.c runs before a party contributes.
 *   decode_*   tss_request_decode + tss_request_evaluate (parse, digest) +
 *              tss_request_hash (what approvals sign), per request type
 *   eval_*     tss_policy_evaluate of the example policy
 *              (packaging/examples/policy.yaml) with real window sums
 *              (policy/velocity holding 10 charges of the day): first match,
 *              and no match (every rule tried)
 *   charge     tss_velocity_charge: the record made durable (temp file,
 *              fsync, rename, fsync of the directory) in a temp dir
 *   approvals  2 approvals off the wire list: tss_approval_verify (decode,
 *              two Ed25519 verifications, nonce lookups), then
 *              tss_approval_commit (the nonce record made durable)
 *   gate_*     the whole sequence for one request, as the party runs it
 *   baseline   one atomic 64-byte write (temp, fsync, rename, fsync dir):
 *              the disk's price of durability in the same run
 * Wall time (fsync waits count) p50/p90 and thread CPU p50, in microseconds,
 * over --runs (default 200). The reference is a full 2-of-3 signature in
 * process (bench/mpc.c, thread CPU ms per party, 21 runs, same process).
 * The temp dir is under $TMPDIR (default /tmp): put it on the party's disk. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench/bench.h"
#include "eth/tx.h"
#include "policy/approval.h"
#include "policy/approval_nonce.h"
#include "policy/policy.h"
#include "policy/request.h"
#include "policy/velocity.h"

#define KEY_ID "treasury-1" /* in the example's group "treasury" */
#define SIGN_RUNS 21

static const char permit2[] =
    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"chainId\","
    "\"type\":\"uint256\"},{\"name\":\"verifyingContract\",\"type\":\"address\"}],"
    "\"PermitDetails\":[{\"name\":\"token\",\"type\":\"address\"},{\"name\":\"amount\",\"type\":"
    "\"uint160\"},{\"name\":\"expiration\",\"type\":\"uint48\"},{\"name\":\"nonce\",\"type\":"
    "\"uint48\"}],\"PermitSingle\":[{\"name\":\"details\",\"type\":\"PermitDetails\"},{\"name\":"
    "\"spender\",\"type\":\"address\"},{\"name\":\"sigDeadline\",\"type\":\"uint256\"}]},"
    "\"primaryType\":\"PermitSingle\",\"domain\":{\"name\":\"Permit2\",\"chainId\":1,"
    "\"verifyingContract\":\"0x000000000022D473030F116dDEE9F6B43aC78BA3\"},\"message\":{"
    "\"details\":{\"token\":\"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48\",\"amount\":"
    "\"1000000000\",\"expiration\":\"1767225600\",\"nonce\":\"7\"},\"spender\":"
    "\"0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad\",\"sigDeadline\":\"1767225600\"}}";

static const char login[] =
    "example.com wants you to sign in with your Ethereum account:\n"
    "0x1111111111111111111111111111111111111111\n\nSign in to the treasury dashboard.\n\n"
    "URI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\n"
    "Issued At: 2026-12-03T12:00:00Z";

/* wei = eth * 10^18 as uint256 big-endian. */
static void eth_wei(uint8_t out[32], unsigned eth) {
    memset(out, 0, 32);
    unsigned __int128 v = (unsigned __int128)eth * 1000000000000000000ull;
    for (int i = 31; i >= 16; i--, v >>= 8) out[i] = (uint8_t)v;
}

/* The encoded request (u8 version | u8 type | var body) of an EIP-1559
 * transfer of `eth` ETH to `to_byte` x 20 on mainnet. */
static bool tx_request(tss_writer *enc, uint8_t to_byte, unsigned eth) {
    tss_eth_tx tx = {.type = TSS_ETH_TX_EIP1559, .chain_id = 1, .nonce = 42, .gas_limit = 21000,
                     .has_to = true};
    memset(tx.to, to_byte, 20);
    tx.max_priority_fee_per_gas[31] = 2;
    tx.max_fee_per_gas[30] = 0x10;
    eth_wei(tx.value, eth);
    tss_writer body;
    tss_writer_init(&body, 8192);
    bool ok = tss_is_ok(tss_eth_tx_encode_unsigned(&tx, &body));
    tss_request req = {TSS_REQ_TX, body.data, body.len};
    tss_writer_init(enc, TSS_REQ_MAX_ENCODED);
    ok = ok && tss_is_ok(tss_request_encode(enc, &req));
    tss_writer_free(&body);
    return ok;
}

static bool other_request(tss_writer *enc, uint8_t type, const char *text) {
    tss_request req = {type, (const uint8_t *)text, strlen(text)};
    tss_writer_init(enc, TSS_REQ_MAX_ENCODED);
    return tss_is_ok(tss_request_encode(enc, &req));
}

/* The party's first step: content -> view, request hash. */
static bool decode(const tss_writer *enc, tss_request *req, tss_req_view *v, uint8_t rh[32]) {
    static const tss_bip32_path root = {0};
    if (!tss_is_ok(tss_request_decode(req, enc->data, enc->len)) ||
        !tss_is_ok(tss_request_evaluate(req, v)))
        return false;
    tss_request_hash(KEY_ID, &root, req, rh);
    return true;
}

/* The approvals verifier the party plugs into the policy (as
 * daemon/party/approvals.c: verify the wire list, keep the tally). */
typedef struct {
    const tss_approver_pins *pins;
    tss_approval_nonce_store *store;
    const uint8_t *list;
    size_t list_len;
    tss_approval_tally tally;
    bool counted;
} approvals_ctx;

static tss_approval_policy approval_policy(uint32_t m, const char *const *names, size_t n) {
    return (tss_approval_policy){.m = m, .allowed = n ? names : NULL, .n_allowed = n,
                                 .now = (uint64_t)time(NULL), .skew = 300,
                                 .max_lifetime = 86400};
}

static bool verify_cb(void *vctx, const uint8_t rh[32], const char *const *names, size_t n,
                      uint32_t m, char *why, size_t why_cap) {
    approvals_ctx *c = vctx;
    tss_approval_policy pol = approval_policy(m, names, n);
    if (!tss_is_ok(tss_approval_verify(c->list, c->list_len, KEY_ID, rh, c->pins, &pol, c->store,
                                       &c->tally, NULL, 0))) {
        snprintf(why, why_cap, "%s", tss_error_detail());
        return false;
    }
    c->counted = true;
    return true;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (sorts in place). */
static double pct(double *v, size_t n, double p) {
    qsort(v, n, sizeof *v, compare_double);
    size_t k = (size_t)(p * (double)n + 0.999999);
    return v[k ? k - 1 : 0];
}

typedef struct {
    const char *name;
    double *us, *cpu_us; /* wall, thread CPU per run */
    double p50, p90, cpu_p50;
} step;

/* A timed region: wall and thread CPU. */
typedef struct {
    double wall, cpu;
} mark;
static mark start(void) { return (mark){bench_wall_seconds(), bench_cpu_seconds()}; }
static void stop(step *st, int r, mark m) {
    st->us[r] = (bench_wall_seconds() - m.wall) * 1e6;
    st->cpu_us[r] = (bench_cpu_seconds() - m.cpu) * 1e6;
}

enum {
    S_DECODE_TX, S_DECODE_712, S_DECODE_191, S_EVAL_TX, S_EVAL_712, S_EVAL_NONE_TX,
    S_EVAL_NONE_191, S_CHARGE, S_APPROVALS, S_NONCES, S_GATE_TX, S_GATE_APPROVED,
    S_BASELINE, S_COUNT
};
static const char *const step_names[S_COUNT] = {
    "decode_digest_tx_eip1559", "decode_digest_eip712_permit2", "decode_digest_eip191",
    "evaluate_first_match_tx", "evaluate_first_match_eip712", "evaluate_no_match_tx",
    "evaluate_no_match_eip191", "velocity_charge_fsync", "approvals_2_verify",
    "approval_nonces_commit_fsync",
    "gate_tx_allowed", "gate_tx_2_approvals", "baseline_atomic_write_fsync"};

/* The disk's price of durability, for scale: 64 bytes written the way the
 * policy state is (temp file, fsync, rename, fsync of the directory). */
static bool atomic_write(const char *dir) {
    char tmp[600], dst[600];
    uint8_t data[64];
    randombytes_buf(data, sizeof data);
    snprintf(tmp, sizeof tmp, "%s/baseline.tmp", dir);
    snprintf(dst, sizeof dst, "%s/baseline", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = write(fd, data, sizeof data) == (ssize_t)sizeof data && fsync(fd) == 0;
    ok = close(fd) == 0 && ok && rename(tmp, dst) == 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok = ok && dfd >= 0 && fsync(dfd) == 0;
    if (dfd >= 0) close(dfd);
    return ok;
}

/* One policy evaluation; false unless the outcome is `want_allow` (by
 * `want_rule`, if allowed). */
static bool evaluate(const tss_policy *p, const tss_req_view *v, const uint8_t rh[32],
                     uint64_t now_ms, tss_velocity *win, const tss_policy_approver *ap,
                     bool want_allow, const char *want_rule, tss_policy_decision *d) {
    tss_policy_windows w = {win, tss_velocity_sum};
    tss_policy_input in = {KEY_ID, v, rh, now_ms, &w, ap};
    tss_policy_evaluate(p, &in, d);
    if (d->allow != want_allow || (want_allow && strcmp(d->rule_name, want_rule) != 0)) {
        fprintf(stderr, "tss-bench: policy: unexpected decision %s by rule \"%s\": %s\n",
                d->allow ? "allow" : "refuse", d->rule_name, d->reason);
        return false;
    }
    return true;
}

/* Two fresh approvals (alice, bob) of rh, as a wire list in *list. */
static bool approvals_list(tss_writer *list, const uint8_t rh[32], uint8_t sk[][64],
                           const tss_approver_pin *pins) {
    tss_approval_set set = {.n = 2};
    for (size_t i = 0; i < 2; i++) {
        tss_approval *a = &set.v[i];
        memset(a, 0, sizeof *a);
        snprintf(a->key_id, sizeof a->key_id, "%s", KEY_ID);
        memcpy(a->request_hash, rh, 32);
        a->expires = (uint64_t)time(NULL) + 3600;
        randombytes_buf(a->nonce, sizeof a->nonce);
        snprintf(a->approver, sizeof a->approver, "%s", pins[i].name);
        if (!tss_is_ok(tss_approval_sign(a, sk[i]))) return false;
    }
    tss_writer_init(list, TSS_APPROVAL_LIST_MAX);
    return tss_is_ok(tss_approval_list_encode(&set, list));
}

static int run(const bench_options *o, const char *root, step *s, int runs, double *sign_ms,
               double *sign_p50, double *sign_p90) {
    tss_policy pol;
    if (!tss_is_ok(tss_policy_load_file(&pol, o->policy_file))) {
        fprintf(stderr, "tss-bench: policy: %s\n", tss_error_detail());
        return 66;
    }
    int rc = 70;
    char win_dir[512], charge_dir[512], nonce_dir[512];
    snprintf(win_dir, sizeof win_dir, "%s/windows", root);
    snprintf(charge_dir, sizeof charge_dir, "%s/charge", root);
    snprintf(nonce_dir, sizeof nonce_dir, "%s/nonces", root);
    tss_velocity *win = NULL, *charge = NULL;
    tss_approval_nonce_store *store = NULL;
    tss_writer enc[6] = {0};
    tss_writer list = {0};
    uint64_t wall = (uint64_t)time(NULL) * 1000, mono = (uint64_t)(bench_wall_seconds() * 1e3);
    /* Noon UTC today: inside the example's Permit2 hours (07:00-19:00). */
    uint64_t now = wall - wall % 86400000 + 12 * 3600000ull;
    if (mkdir(win_dir, 0700) || mkdir(charge_dir, 0700) || mkdir(nonce_dir, 0700) ||
        !tss_is_ok(tss_velocity_open(&win, win_dir, wall, mono)) ||
        !tss_is_ok(tss_velocity_open(&charge, charge_dir, wall, mono)))
        goto out;
    /* The day so far: 10 payments of 1 ETH under treasury-daily (the window
     * sums are real: 10 of 20 requests, 10 of 50 ETH). */
    uint8_t one_eth[32];
    eth_wei(one_eth, 1);
    for (int k = 0; k < 10; k++)
        if (!tss_is_ok(tss_velocity_charge(win, "treasury-daily", KEY_ID,
                                           now - 10 * 3600000ull + (uint64_t)k * 1800000, one_eth)))
            goto out;
    /* Approvers alice, bob, carol pinned; a fresh nonce record. */
    uint8_t sk[3][64], mac_key[32];
    tss_approver_pin pin_v[3];
    static const char *const who[3] = {"alice", "bob", "carol"};
    for (int i = 0; i < 3; i++) {
        snprintf(pin_v[i].name, sizeof pin_v[i].name, "%s", who[i]);
        crypto_sign_keypair(pin_v[i].public_key, sk[i]);
    }
    tss_approver_pins pins = {pin_v, 3};
    randombytes_buf(mac_key, sizeof mac_key);
    if (!tss_is_ok(tss_approval_nonce_open(&store, nonce_dir, TSS_APPROVAL_NONCE_FILE, mac_key)))
        goto out;
    /* Requests: 1 ETH to the exchange (treasury-daily), 20 ETH to it (over
     * max_value: treasury-large, 2 approvals), 1 ETH elsewhere (no rule),
     * a Permit2 permit (treasury-permits), a sign-in message (no rule). */
    if (!tx_request(&enc[0], 0x11, 1) || !tx_request(&enc[1], 0x11, 20) ||
        !tx_request(&enc[2], 0x22, 1) || !other_request(&enc[3], TSS_REQ_EIP712, permit2) ||
        !other_request(&enc[4], TSS_REQ_EIP191, login))
        goto out;
    tss_request req;
    tss_req_view v[5];
    uint8_t rh[5][32];
    for (int i = 0; i < 5; i++)
        if (!decode(&enc[i], &req, &v[i], rh[i])) {
            fprintf(stderr, "tss-bench: policy: request %d: %s\n", i, tss_error_detail());
            goto out;
        }
    tss_policy_decision d;
    approvals_ctx actx = {.pins = &pins, .store = store};
    tss_policy_approver ap = {&actx, verify_cb};
    for (int r = 0; r < runs; r++) {
        static const int dec_of[3] = {0, 3, 4};
        mark m;
        for (int k = 0; k < 3; k++) {
            m = start();
            bool ok = decode(&enc[dec_of[k]], &req, &v[dec_of[k]], rh[dec_of[k]]);
            stop(&s[S_DECODE_TX + k], r, m);
            if (!ok) goto out;
        }
        static const struct {
            int req, step;
            bool allow;
            const char *rule;
        } evals[4] = {{0, S_EVAL_TX, true, "treasury-daily"},
                      {3, S_EVAL_712, true, "treasury-permits"},
                      {2, S_EVAL_NONE_TX, false, NULL},
                      {4, S_EVAL_NONE_191, false, NULL}};
        for (int k = 0; k < 4; k++) {
            int q = evals[k].req;
            m = start();
            bool ok = evaluate(&pol, &v[q], rh[q], now, win, &ap, evals[k].allow, evals[k].rule, &d);
            stop(&s[evals[k].step], r, m);
            if (!ok) goto out;
        }
        /* Durable charge (its own store: the evaluation's sums stay put). */
        uint64_t cnow = tss_velocity_now(charge, (uint64_t)(bench_wall_seconds() * 1e3));
        m = start();
        if (!tss_is_ok(tss_velocity_charge(charge, "treasury-daily", KEY_ID, cnow, one_eth)))
            goto out;
        stop(&s[S_CHARGE], r, m);
        /* 2 approvals (signed by the approvers beforehand, untimed): verify
         * the wire list, then record the nonces durably. */
        if (!approvals_list(&list, rh[1], sk, pin_v)) goto out;
        const char *const names[3] = {"alice", "bob", "carol"};
        tss_approval_policy apol = approval_policy(2, names, 3);
        tss_approval_tally tally;
        m = start();
        if (!tss_is_ok(tss_approval_verify(list.data, list.len, KEY_ID, rh[1], &pins, &apol,
                                           store, &tally, NULL, 0)))
            goto out;
        stop(&s[S_APPROVALS], r, m);
        m = start();
        if (!tss_is_ok(tss_approval_commit(store, &tally))) goto out;
        stop(&s[S_NONCES], r, m);
        tss_writer_free(&list);
        /* Whole gate, allowed transfer: decode, evaluate, charge. */
        cnow = tss_velocity_now(charge, (uint64_t)(bench_wall_seconds() * 1e3));
        m = start();
        if (!decode(&enc[0], &req, &v[0], rh[0]) ||
            !evaluate(&pol, &v[0], rh[0], now, win, &ap, true, "treasury-daily", &d) ||
            !tss_is_ok(tss_velocity_charge(charge, d.rule_name, KEY_ID, cnow, d.value)))
            goto out;
        stop(&s[S_GATE_TX], r, m);
        /* Whole gate, 20 ETH with 2 approvals: decode, evaluate (the rule's
         * verifier checks the list), record the nonces (treasury-large has
         * no window: nothing to charge). */
        if (!approvals_list(&list, rh[1], sk, pin_v)) goto out;
        actx.list = list.data;
        actx.list_len = list.len;
        actx.counted = false;
        m = start();
        if (!decode(&enc[1], &req, &v[1], rh[1]) ||
            !evaluate(&pol, &v[1], rh[1], now, win, &ap, true, "treasury-large", &d) ||
            !actx.counted || !tss_is_ok(tss_approval_commit(store, &actx.tally)) ||
            (d.charge && !tss_is_ok(tss_velocity_charge(charge, d.rule_name, KEY_ID, cnow,
                                                        d.value))))
            goto out;
        stop(&s[S_GATE_APPROVED], r, m);
        tss_writer_free(&list);
        m = start();
        if (!atomic_write(charge_dir)) goto out;
        stop(&s[S_BASELINE], r, m);
    }
    for (int k = 0; k < S_COUNT; k++) {
        s[k].p50 = pct(s[k].us, (size_t)runs, 0.5);
        s[k].p90 = pct(s[k].us, (size_t)runs, 0.9);
        s[k].cpu_p50 = pct(s[k].cpu_us, (size_t)runs, 0.5);
    }
    /* The reference, same process: a full 2-of-3 signature per party. */
    if (!bench_mpc_sign_samples(3, 2, SIGN_RUNS, sign_ms)) {
        fprintf(stderr, "tss-bench: policy: the reference 2-of-3 signature failed\n");
        goto out;
    }
    *sign_p50 = pct(sign_ms, SIGN_RUNS, 0.5);
    *sign_p90 = pct(sign_ms, SIGN_RUNS, 0.9);
    rc = 0;
out:
    if (rc == 70) fprintf(stderr, "tss-bench: policy: failed: %s\n", tss_error_detail());
    tss_writer_free(&list);
    for (int i = 0; i < 6; i++) tss_writer_free(&enc[i]);
    tss_approval_nonce_close(store);
    tss_velocity_close(win);
    tss_velocity_close(charge);
    tss_policy_free(&pol);
    return rc;
}

/* Remove the bench's own temp tree. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int bench_policy(const bench_options *o) {
    int runs = o->runs_given ? o->runs : 200;
    /* The party's state dir stands here: put TMPDIR on the disk it uses. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char root[400];
    snprintf(root, sizeof root, "%s/tss-bench-policy-XXXXXX", tmp);
    if (!mkdtemp(root)) {
        fprintf(stderr, "tss-bench: policy: cannot create a directory under %s\n", tmp);
        return 73;
    }
    step s[S_COUNT];
    double *buf = calloc((size_t)runs * S_COUNT * 2, sizeof *buf), sign_ms[SIGN_RUNS];
    double sign_p50 = 0, sign_p90 = 0;
    if (!buf) return 70;
    for (int k = 0; k < S_COUNT; k++) s[k] = (step){step_names[k], buf + (size_t)k * runs,
                                                  buf + (size_t)(S_COUNT + k) * runs, 0, 0, 0};
    int rc = run(o, root, s, runs, sign_ms, &sign_p50, &sign_p90);
    if (nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "tss-bench: policy: could not remove %s\n", root);
    free(buf);
    if (rc) return rc;
    double sign_us = sign_p50 * 1e3;
    const step *g = &s[S_GATE_TX], *ga = &s[S_GATE_APPROVED];
    if (o->json) {
        printf("\"policy\":{\"policy_file\":\"%s\",\"runs\":%d,\"steps\":[", o->policy_file, runs);
        for (int k = 0; k < S_COUNT; k++)
            printf("%s{\"step\":\"%s\",\"p50_us\":%.1f,\"p90_us\":%.1f,\"cpu_p50_us\":%.1f}",
                   k ? "," : "", s[k].name, s[k].p50, s[k].p90, s[k].cpu_p50);
        printf("],\"sign_2of3_runs\":%d,\"sign_2of3_cpu_ms_per_party_p50\":%.3f,"
               "\"sign_2of3_cpu_ms_per_party_p90\":%.3f,\"ratio_gate_tx_wall\":%.4f,"
               "\"ratio_gate_tx_cpu\":%.4f,\"ratio_gate_approved_wall\":%.4f,"
               "\"ratio_gate_approved_cpu\":%.4f}",
               SIGN_RUNS, sign_p50, sign_p90, g->p50 / sign_us, g->cpu_p50 / sign_us,
               ga->p50 / sign_us, ga->cpu_p50 / sign_us);
    } else {
        printf("policy %s, %d runs (fsyncs in %s)\n%-30s %10s %10s %11s\n", o->policy_file, runs,
               tmp, "step", "p50_us", "p90_us", "cpu_p50_us");
        for (int k = 0; k < S_COUNT; k++)
            printf("%-30s %10.1f %10.1f %11.1f\n", s[k].name, s[k].p50, s[k].p90, s[k].cpu_p50);
        printf("2-of-3 full signature in process, CPU per party (%d runs): p50 %.3f ms, p90 %.3f "
               "ms\nratio policy gate / sign per party (p50 wall; p50 CPU): allowed tx %.3f; "
               "%.4f, tx with 2 approvals %.3f; %.4f\n",
               SIGN_RUNS, sign_p50, sign_p90, g->p50 / sign_us, g->cpu_p50 / sign_us,
               ga->p50 / sign_us, ga->cpu_p50 / sign_us);
    }
    return 0;
}
