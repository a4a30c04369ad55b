/* policy/approval: M-of-K approvals checked by a party, and the durable nonce
 * record (replay refused across a restart, pruning, clock stepped back,
 * tampering). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "config/party.h"
#include "policy/approval.h"
#include "policy/approval_nonce.h"
#include "policy/approver_key.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

/* The party hands its config's pins to the check as they are. */
_Static_assert(sizeof(tss_config_approver) == sizeof(tss_approver_pin) &&
                   offsetof(tss_config_approver, public_key) ==
                       offsetof(tss_approver_pin, public_key),
               "config approver pins and policy pins share one layout");

#define KEY "treasury"
#define NOW 1800000000ull

static char tmp_root[256];
static unsigned dir_no;
static uint8_t sk[3][64];
static tss_approver_pin pin_v[3];
static tss_approver_pins pins = {pin_v, 3};
static uint8_t mac_key[32];
static uint8_t hash_a[32], hash_b[32];

static void fresh_dir(char *dir, size_t cap) {
    snprintf(dir, cap, "%s/s%u", tmp_root, dir_no++);
    CHECK(mkdir(dir, 0700) == 0);
}

static tss_approval_nonce_store *open_store(const char *dir) {
    tss_approval_nonce_store *s = NULL;
    CHECK_OK(tss_approval_nonce_open(&s, dir, TSS_APPROVAL_NONCE_FILE, mac_key));
    return s;
}

/* An approval by approver i (0..2) for key/hash expiring at exp. */
static tss_approval make(int i, const char *key, const uint8_t hash[32], uint64_t exp) {
    tss_approval a;
    memset(&a, 0, sizeof a);
    snprintf(a.key_id, sizeof a.key_id, "%s", key);
    memcpy(a.request_hash, hash, 32);
    a.expires = exp;
    randombytes_buf(a.nonce, sizeof a.nonce);
    snprintf(a.approver, sizeof a.approver, "%s", pin_v[i].name);
    CHECK_OK(tss_approval_sign(&a, sk[i]));
    return a;
}

static tss_approval_policy pol2(uint64_t now) {
    return (tss_approval_policy){.m = 2, .now = now, .skew = 300, .max_lifetime = 86400};
}

static tss_result check(const tss_approval_set *set, const uint8_t hash[32],
                        const tss_approval_policy *p, tss_approval_nonce_store *s, char *rep) {
    return tss_approval_check(set, KEY, hash, &pins, p, s, rep, 512);
}

static void m_minus_one_refused_m_accepted(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_set set = {.n = 1};
    set.v[0] = make(0, KEY, hash_a, NOW + 600);
    tss_approval_policy p = pol2(NOW);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "1 of 2 required") != NULL);
    CHECK(tss_approval_nonce_count(s) == 0); /* a refusal consumes nothing */
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    set.n = 2;
    CHECK_OK(check(&set, hash_a, &p, s, rep));
    CHECK(strstr(rep, "2 of 2") != NULL);
    CHECK(tss_approval_nonce_count(s) == 2);
    /* 3-of-3 with three distinct approvers. */
    tss_approval_set three = {.n = 3};
    for (int i = 0; i < 3; i++) three.v[i] = make(i, KEY, hash_a, NOW + 600);
    p.m = 3;
    CHECK_OK(check(&three, hash_a, &p, s, rep));
    tss_approval_nonce_close(s);
}

static void same_approver_twice_counted_once(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_set set = {.n = 2};
    set.v[0] = make(0, KEY, hash_a, NOW + 600);
    set.v[1] = make(0, KEY, hash_a, NOW + 600); /* fresh nonce, same approver */
    tss_approval_policy p = pol2(NOW);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "already counted") != NULL);
    /* The very same approval twice: also once. */
    set.v[1] = set.v[0];
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(tss_approval_nonce_count(s) == 0);
    tss_approval_nonce_close(s);
}

static void expired_and_far_future_refused(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_policy p = pol2(NOW);
    tss_approval_set set = {.n = 2};
    set.v[0] = make(0, KEY, hash_a, NOW - 301); /* past the skew */
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "expired") != NULL);
    /* Within the skew it still counts. */
    set.v[0] = make(0, KEY, hash_a, NOW - 299);
    CHECK_OK(check(&set, hash_a, &p, s, rep));
    /* An expiry beyond max_lifetime (+ skew) would outlive the nonce record's bound. */
    set.v[0] = make(0, KEY, hash_a, NOW + 86400 + 301);
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "approvals.max_lifetime") != NULL);
    tss_approval_nonce_close(s);
}

static void other_request_or_key_refused(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_policy p = pol2(NOW);
    tss_approval_set set = {.n = 2};
    set.v[0] = make(0, KEY, hash_b, NOW + 600);
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "another request") != NULL);
    set.v[0] = make(0, "hot-wallet", hash_a, NOW + 600);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "another key") != NULL);
    tss_approval_nonce_close(s);
}

static void forged_or_misnamed_refused(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_policy p = pol2(NOW);
    tss_approval_set set = {.n = 2};
    set.v[0] = make(0, KEY, hash_a, NOW + 600);
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    set.v[1].sig[5] ^= 1; /* forged */
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "bad signature") != NULL);
    /* Signed by alice's key but claiming to be bob: bob's pin does not verify it. */
    set.v[1] = make(0, KEY, hash_a, NOW + 600);
    snprintf(set.v[1].approver, sizeof set.v[1].approver, "%s", pin_v[1].name);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    /* Altered expiry after signing. */
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    set.v[1].expires += 1000;
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    /* Unknown approver (a valid signature by a key nobody pinned) is ignored. */
    uint8_t pk[32], esk[64];
    crypto_sign_keypair(pk, esk);
    tss_approval x = make(1, KEY, hash_a, NOW + 600);
    snprintf(x.approver, sizeof x.approver, "mallory");
    CHECK_OK(tss_approval_sign(&x, esk));
    set.v[1] = x;
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "unknown approver") != NULL);
    /* Rule's approver list: carol is pinned but not allowed by this rule. */
    const char *allowed[] = {"alice", "bob"};
    p.allowed = allowed;
    p.n_allowed = 2;
    set.v[1] = make(2, KEY, hash_a, NOW + 600);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "not an approver for this rule") != NULL);
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    CHECK_OK(check(&set, hash_a, &p, s, rep));
    tss_approval_nonce_close(s);
}

static void replay_refused_across_restart(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_policy p = pol2(NOW);
    tss_approval_set set = {.n = 2};
    set.v[0] = make(0, KEY, hash_a, NOW + 600);
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    CHECK_OK(check(&set, hash_a, &p, s, rep));
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "replay") != NULL);
    tss_approval_nonce_close(s);
    /* Restart: the record on disk refuses it still. */
    s = open_store(dir);
    CHECK(tss_approval_nonce_count(s) == 2);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "replay") != NULL);
    /* One replayed + one fresh approver is still only 1 of 2. */
    set.v[1] = make(2, KEY, hash_a, NOW + 600);
    CHECK_ERR(check(&set, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "1 of 2") != NULL);
    tss_approval_nonce_close(s);
}

static void clock_back_and_pruning(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_policy p = pol2(NOW);
    tss_approval_set old = {.n = 2};
    old.v[0] = make(0, KEY, hash_a, NOW + 600);
    old.v[1] = make(1, KEY, hash_a, NOW + 600);
    CHECK_OK(check(&old, hash_a, &p, s, rep));
    /* Much later: a new request prunes the old entries (expired by then). */
    tss_approval_policy later = pol2(NOW + 5000);
    tss_approval_set fresh = {.n = 2};
    fresh.v[0] = make(0, KEY, hash_b, NOW + 5600);
    fresh.v[1] = make(1, KEY, hash_b, NOW + 5600);
    CHECK_OK(check(&fresh, hash_b, &later, s, rep));
    CHECK(tss_approval_nonce_count(s) == 2);
    tss_approval_nonce_close(s);
    s = open_store(dir);
    CHECK(tss_approval_nonce_count(s) == 2);
    /* The clock steps back to NOW: the pruned approvals stay dead (high-water mark). */
    CHECK(tss_approval_nonce_time(s, NOW) == NOW + 5000);
    CHECK_ERR(check(&old, hash_a, &p, s, rep), TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "expired") != NULL);
    tss_approval_nonce_close(s);
}

static void nonce_file_tamper_refused(void) {
    char dir[300], path[400], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_policy p = pol2(NOW);
    tss_approval_set set = {.n = 2};
    set.v[0] = make(0, KEY, hash_a, NOW + 600);
    set.v[1] = make(1, KEY, hash_a, NOW + 600);
    CHECK_OK(check(&set, hash_a, &p, s, rep));
    tss_approval_nonce_close(s);
    snprintf(path, sizeof path, "%s/%s", dir, TSS_APPROVAL_NONCE_FILE);
    size_t len;
    uint8_t *buf = (uint8_t *)harness_read_file(path, &len);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0);
    /* Any flipped byte, or a cut (an entry dropped), fails the tag. */
    for (size_t flip = 0; flip < len; flip += 7) {
        buf[flip] ^= 0x40;
        tss_approval_nonce_entry *e = NULL;
        size_t n;
        uint64_t hw;
        CHECK_ERR(tss_approval_nonce_parse(buf, len, mac_key, &e, &n, &hw), TSS_E_CORRUPT);
        buf[flip] ^= 0x40;
    }
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, len - 40, f) == len - 40);
    fclose(f);
    tss_approval_nonce_store *t = NULL;
    CHECK_ERR(tss_approval_nonce_open(&t, dir, TSS_APPROVAL_NONCE_FILE, mac_key), TSS_E_CORRUPT);
    /* Another party's key cannot read (or forge) it. */
    uint8_t other[32];
    randombytes_buf(other, 32);
    tss_approval_nonce_entry *e = NULL;
    size_t n;
    uint64_t hw;
    CHECK_ERR(tss_approval_nonce_parse(buf, len, other, &e, &n, &hw), TSS_E_CORRUPT);
    CHECK_OK(tss_approval_nonce_parse(buf, len, mac_key, &e, &n, &hw));
    CHECK(n == 2 && hw == NOW);
    free(e);
    free(buf);
}

static void codec_round_trip_and_bounds(void) {
    tss_approval_set set = {.n = 3}, back;
    for (int i = 0; i < 3; i++) set.v[i] = make(i, KEY, hash_a, NOW + i);
    tss_writer w;
    tss_writer_init(&w, TSS_APPROVAL_LIST_MAX);
    CHECK_OK(tss_approval_list_encode(&set, &w));
    CHECK_OK(tss_approval_list_decode(w.data, w.len, &back));
    CHECK(back.n == 3 && memcmp(&back.v[2], &set.v[2], sizeof set.v[2]) == 0);
    /* Trailing byte, truncation, and a count above the cap. */
    uint8_t buf[TSS_APPROVAL_LIST_MAX + 1];
    memcpy(buf, w.data, w.len);
    buf[w.len] = 0;
    CHECK_ERR(tss_approval_list_decode(buf, w.len + 1, &back), TSS_E_TRAILING);
    CHECK(!tss_is_ok(tss_approval_list_decode(buf, w.len - 1, &back)));
    buf[0] = TSS_APPROVAL_MAX + 1;
    CHECK_ERR(tss_approval_list_decode(buf, w.len, &back), TSS_E_TOO_LARGE);
    tss_writer_free(&w);
    /* A bad name, a wrong domain tag. */
    tss_writer_init(&w, TSS_APPROVAL_BLOB_MAX);
    CHECK_OK(tss_approval_encode(&set.v[0], &w));
    memcpy(buf, w.data, w.len);
    tss_approval one;
    CHECK_OK(tss_approval_decode(buf, w.len, &one));
    buf[TSS_APPROVAL_TAG_LEN + 2] = '/'; /* first key id character */
    CHECK_ERR(tss_approval_decode(buf, w.len, &one), TSS_E_INVALID);
    memcpy(buf, w.data, w.len);
    buf[0] ^= 1;
    CHECK_ERR(tss_approval_decode(buf, w.len, &one), TSS_E_INVALID);
    tss_writer_free(&w);
}

/* The party's split use: verify at decision time, commit before contributing.
 * Two requests racing with the same approvals: only the first commit wins. */
static void verify_then_commit_race(void) {
    char dir[300], rep[512];
    fresh_dir(dir, sizeof dir);
    tss_approval_nonce_store *s = open_store(dir);
    tss_approval_policy p = pol2(NOW);
    tss_approval_set set = {.n = 2};
    set.v[0] = make(0, KEY, hash_a, NOW + 600);
    set.v[1] = make(2, KEY, hash_a, NOW + 600);
    tss_writer w;
    tss_writer_init(&w, TSS_APPROVAL_LIST_MAX);
    CHECK_OK(tss_approval_list_encode(&set, &w));
    tss_approval_tally t1, t2;
    CHECK_OK(tss_approval_verify(w.data, w.len, KEY, hash_a, &pins, &p, s, &t1, rep, sizeof rep));
    CHECK(strstr(rep, "2 of 2 approvals from alice,carol") != NULL);
    CHECK_OK(tss_approval_verify(w.data, w.len, KEY, hash_a, &pins, &p, s, &t2, rep, sizeof rep));
    CHECK(tss_approval_nonce_count(s) == 0); /* verify records nothing */
    CHECK_OK(tss_approval_commit(s, &t1));
    CHECK_ERR(tss_approval_commit(s, &t2), TSS_E_PROTOCOL);
    CHECK_ERR(tss_approval_verify(w.data, w.len, KEY, hash_a, &pins, &p, s, &t2, rep, sizeof rep),
              TSS_E_PROTOCOL);
    /* A malformed list is refused, naming it. */
    CHECK_ERR(tss_approval_verify(w.data, w.len - 1, KEY, hash_a, &pins, &p, s, &t2, rep,
                                  sizeof rep),
              TSS_E_PROTOCOL);
    CHECK(strstr(tss_error_detail(), "malformed") != NULL);
    tss_writer_free(&w);
    tss_approval_nonce_close(s);
}

/* Sealed approver keys: round trip, the key signs approvals its pin verifies;
 * wrong passphrase, a renamed or altered file, a readable file are refused. */
static void approver_key_file(void) {
    char dir[300], path[400], other[400];
    snprintf(dir, sizeof dir, "%s/keys%u", tmp_root, dir_no++);
    static const tss_kdf_params fast = {1, 8192};
    const uint8_t pass[] = "approver pass";
    uint8_t pk[32];
    CHECK_OK(tss_approver_key_generate(dir, "dora", &fast, pass, sizeof pass - 1, pk));
    CHECK_ERR(tss_approver_key_generate(dir, "dora", &fast, pass, sizeof pass - 1, pk),
              TSS_E_EXISTS);
    CHECK_ERR(tss_approver_key_generate(dir, "do/ra", &fast, pass, sizeof pass - 1, pk),
              TSS_E_USAGE);
    snprintf(path, sizeof path, "%s/dora.approver", dir);
    tss_approver_key *k = tss_secret_alloc(sizeof *k);
    CHECK(k != NULL);
    CHECK_OK(tss_approver_key_load(path, pass, sizeof pass - 1, k));
    CHECK(strcmp(k->name, "dora") == 0 && memcmp(k->public_key, pk, 32) == 0);
    /* It signs approvals that a party pinning pk under "dora" counts. */
    tss_approver_pin pin;
    memset(&pin, 0, sizeof pin);
    snprintf(pin.name, sizeof pin.name, "dora");
    memcpy(pin.public_key, pk, 32);
    tss_approver_pins one = {&pin, 1};
    tss_approval_set set = {.n = 1};
    memset(&set.v[0], 0, sizeof set.v[0]);
    snprintf(set.v[0].key_id, sizeof set.v[0].key_id, KEY);
    memcpy(set.v[0].request_hash, hash_a, 32);
    set.v[0].expires = NOW + 60;
    snprintf(set.v[0].approver, sizeof set.v[0].approver, "dora");
    CHECK_OK(tss_approval_sign(&set.v[0], k->secret_key));
    tss_approval_policy p = {.m = 1, .now = NOW, .skew = 0, .max_lifetime = 3600};
    char ndir[300];
    fresh_dir(ndir, sizeof ndir);
    tss_approval_nonce_store *st = open_store(ndir);
    tss_approval_tally t;
    CHECK_OK(tss_approval_verify_set(&set, KEY, hash_a, &one, &p, st, &t, NULL, 0));
    tss_approval_nonce_close(st);
    CHECK_ERR(tss_approver_key_load(path, (const uint8_t *)"wrong", 5, k), TSS_E_BAD_PASSPHRASE);
    /* Renamed to another approver's name: the name sealed inside disagrees. */
    snprintf(other, sizeof other, "%s/eve.approver", dir);
    CHECK(rename(path, other) == 0);
    CHECK_ERR(tss_approver_key_load(other, pass, sizeof pass - 1, k), TSS_E_CORRUPT);
    CHECK(rename(other, path) == 0);
    /* A flipped ciphertext byte (checksum recomputed or not) is refused. */
    size_t len;
    uint8_t *buf = (uint8_t *)harness_read_file(path, &len);
    buf[len - 40] ^= 1;
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, len, f) == len);
    fclose(f);
    CHECK(!tss_is_ok(tss_approver_key_load(path, pass, sizeof pass - 1, k)));
    buf[len - 40] ^= 1;
    f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, len, f) == len);
    fclose(f);
    CHECK(chmod(path, 0640) == 0);
    CHECK_ERR(tss_approver_key_load(path, pass, sizeof pass - 1, k), TSS_E_PERMISSION);
    CHECK(chmod(path, 0600) == 0);
    CHECK_OK(tss_approver_key_load(path, pass, sizeof pass - 1, k));
    free(buf);
    tss_secret_free(k);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    harness_tmpdir(tmp_root, sizeof tmp_root);
    const char *names[3] = {"alice", "bob", "carol"};
    for (int i = 0; i < 3; i++) {
        crypto_sign_keypair(pin_v[i].public_key, sk[i]);
        snprintf(pin_v[i].name, sizeof pin_v[i].name, "%s", names[i]);
    }
    randombytes_buf(mac_key, 32);
    randombytes_buf(hash_a, 32);
    randombytes_buf(hash_b, 32);
    RUN(m_minus_one_refused_m_accepted);
    RUN(same_approver_twice_counted_once);
    RUN(expired_and_far_future_refused);
    RUN(other_request_or_key_refused);
    RUN(forged_or_misnamed_refused);
    RUN(replay_refused_across_restart);
    RUN(clock_back_and_pruning);
    RUN(nonce_file_tamper_refused);
    RUN(codec_round_trip_and_bounds);
    RUN(verify_then_commit_race);
    RUN(approver_key_file);
    harness_rmtree(tmp_root);
    return harness_finish("approval");
}
