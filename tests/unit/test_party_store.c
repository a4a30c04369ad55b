/* keystore/ party storage: storage-key sealed files (format version 2), key
 * shares, presignatures with durable single-use consumption, sign-sid logs,
 * and the spent-id log underneath (torn tails, corruption, caps, locking). */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keystore/ban_state.h"
#include "keystore/key_erase.h"
#include "keystore/keystore.h"
#include "keystore/presig_store.h"
#include "keystore/share_cache.h"
#include "keystore/share_store.h"
#include "keystore/sid_log.h"
#include "keystore/session_log.h"
#include "keystore/spent_log.h"
#include "mpc/sign.h"
#include "tests/unit/harness.h"
#include "tests/unit/mpc_sim.h"
#include "util/hex.h"
#include "util/secmem.h"

static char tmp_root[256];
static tss_keyshare *k3[3]; /* a 2-of-3 key; key id "sim-key-3-2" */
#define KEY_ID "sim-key-3-2"
static tss_party_keys *pkeys[4]; /* random keys for parties 1..3 */

/* ---- helpers --------------------------------------------------------------- */

static void random_keys(tss_party_keys *k) {
    randombytes_buf(k->identity_public, sizeof k->identity_public);
    randombytes_buf(k->storage_key, sizeof k->storage_key);
    memset(k->identity_secret, 0, sizeof k->identity_secret);
}

static unsigned state_no;

/* A fresh state directory for party `party` (not yet created). */
static tss_store_ctx make_ctx(char *dir, size_t cap, uint16_t party) {
    snprintf(dir, cap, "%s/state-%u-%u", tmp_root, party, state_no++);
    return (tss_store_ctx){.state_dir = dir, .party_id = party, .keys = pkeys[party]};
}

static void path_of(char *out, size_t cap, const char *state, const char *rel) {
    snprintf(out, cap, "%s/%s", state, rel);
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = malloc(4u << 20);
    *len = fread(buf, 1, 4u << 20, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const uint8_t *data, size_t len, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(write(fd, data, len) == (ssize_t)len);
    CHECK(fchmod(fd, mode) == 0);
    close(fd);
}

static void append_bytes(const char *path, const uint8_t *data, size_t len) {
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static mode_t mode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

static long size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static bool detail_has(const char *s) {
    bool ok = strstr(tss_error_detail(), s) != NULL;
    if (!ok) fprintf(stderr, "  detail was: %s (wanted '%s')\n", tss_error_detail(), s);
    return ok;
}

static bool shares_equal(const tss_keyshare *a, const tss_keyshare *b) {
    tss_writer wa, wb;
    tss_writer_init(&wa, 1u << 20);
    tss_writer_init(&wb, 1u << 20);
    bool ok = tss_is_ok(tss_keyshare_encode(a, &wa)) && tss_is_ok(tss_keyshare_encode(b, &wb)) &&
              wa.len == wb.len && memcmp(wa.data, wb.data, wa.len) == 0;
    tss_writer_free(&wa);
    tss_writer_free(&wb);
    return ok;
}

static void presig_path(char *out, size_t cap, const char *state, const uint8_t id[32]) {
    char hex[65];
    tss_hex_encode(hex, id, 32);
    snprintf(out, cap, "%s/presig/%s/%s.presig", state, KEY_ID, hex);
}

/* ---- running a presigning session in-process ---------------------------------- */

static tss_result mem_claim(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    (void)ctx, (void)sid;
    return TSS_OK_RESULT;
}

static tss_result mem_consume(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)ctx, (void)id;
    return TSS_OK_RESULT;
}

static tss_result sign_deliver(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_sign_handle(party, m, out);
}

static sim_action drop_final(void *ctx, tss_mpc_msg *m, uint16_t recipient) {
    (void)ctx, (void)recipient;
    return m->type == TSS_MSG_SIGN_FINAL_BCAST ? SIM_DROP : SIM_DELIVER;
}

/* Runs signers {1,2} of k3. registries may be NULL (no durable registry).
 * Presigning when digest is NULL: p[0], p[1] receive the presignatures.
 * Returns whether every party finished. */
static bool run_sign(uint32_t session_no, const uint8_t *digest, tss_sid_registry *registries,
                     tss_presig **p, tss_err *start_err) {
    static const uint16_t S[2] = {1, 2};
    sim_net net;
    memset(&net, 0, sizeof net);
    net.n = 2;
    net.deliver = sign_deliver;
    net.hook = drop_final;
    tss_sign *s[2] = {NULL, NULL};
    tss_mpc_outbox init;
    tss_mpc_outbox_init(&init);
    for (int k = 0; k < 2; k++) {
        tss_sign_config c = {.share = k3[k], .count = 2};
        memcpy(c.signers, S, sizeof S);
        memset(c.session_id, 0x5c, sizeof c.session_id);
        memcpy(c.session_id, &session_no, sizeof session_no);
        c.registry = registries ? registries[k] : (tss_sid_registry){mem_claim, NULL};
        if (digest) {
            c.has_digest = true;
            memcpy(c.digest, digest, 32);
            c.consume = (tss_consume_hook){mem_consume, NULL};
        }
        net.ids[k] = S[k];
        CHECK_OK(tss_sign_new(&s[k], &c));
        tss_result r = tss_sign_start(s[k], &init);
        if (start_err) start_err[k] = r.err;
        if (!tss_is_ok(r)) net.error[k] = r.err;
        net.party[k] = s[k];
    }
    sim_run(&net, &init);
    tss_mpc_outbox_clear(&init);
    bool ok = true;
    for (int k = 0; k < 2; k++) {
        ok &= net.error[k] == TSS_OK && tss_sign_finished(s[k]);
        if (ok && p) CHECK_OK(tss_sign_take_presig(s[k], &p[k]));
        tss_sign_free(s[k]);
    }
    return ok;
}

static uint32_t next_session = 1000;

static void presign(tss_presig **p) {
    p[0] = p[1] = NULL;
    CHECK(run_sign(next_session++, NULL, NULL, p, NULL));
}

/* Online signing of both presignatures through the stores' consumption
 * hooks; true if a signature assembled and verified. */
static bool sign_online(tss_presig **p, tss_presig_store **st, const uint8_t digest[32],
                        tss_err *errs) {
    static const uint16_t S[2] = {1, 2};
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    tss_sign_partial partials[2];
    size_t np = 0;
    bool ok = true;
    for (int k = 0; k < 2; k++) {
        tss_consume_hook hook = tss_presig_store_consume_hook(st[k]);
        size_t before = out.count;
        tss_result r = tss_presig_finish(p[k], k3[k], S, 2, digest, &hook, &out);
        if (errs) errs[k] = r.err;
        if (!tss_is_ok(r)) {
            ok = false;
            CHECK(out.count == before); /* w_i withheld */
            continue;
        }
        CHECK(out.count == before + 1);
        if (out.count == before + 1 &&
            tss_is_ok(tss_sign_partial_decode(&partials[np], out.msgs[before].from,
                                              out.msgs[before].data, out.msgs[before].len)))
            np++;
    }
    tss_mpc_outbox_clear(&out);
    if (!ok || np != 2) return false;
    tss_signature sig;
    return tss_is_ok(tss_sign_assemble(partials, 2, &k3[0]->X, digest, &sig));
}

/* ---- sealed container, format version 2 --------------------------------------- */

static void seal_v2(tss_writer *w, const uint8_t key[32], const char *key_id, uint8_t content) {
    tss_sealed_header h = {.content = content, .party_id = 5};
    memset(h.identity, 0x33, 32);
    snprintf(h.key_id, sizeof h.key_id, "%s", key_id);
    static const uint8_t plain[40] = {1, 2, 3};
    tss_writer_init(w, TSS_SEALED_MAX_FILE);
    CHECK_OK(tss_sealed_seal_with_key(&h, key, plain, sizeof plain, w));
}

static void recompute_checksum(uint8_t *file, size_t len) {
    crypto_generichash(file + len - 32, 32, file, len - 32,
                       (const uint8_t *)"tssd/v1/sealed-file-checksum", 28);
}

static void sealed_storage_key_format(void) {
    uint8_t key[32], other[32];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    tss_writer w;
    seal_v2(&w, key, "wallet-1", TSS_CONTENT_KEYSHARE);
    CHECK(w.len == TSS_SEALED_HEADER_V2_LEN + 40 + 16 + 32);
    tss_sealed_header h;
    const uint8_t *ct;
    CHECK_OK(tss_sealed_parse(w.data, w.len, &h, &ct));
    CHECK(h.version == 2 && h.content == TSS_CONTENT_KEYSHARE && h.kdf_id == TSS_KDF_STORAGE_KEY);
    CHECK(h.kdf.opslimit == 0 && h.kdf.memlimit == 0 && strcmp(h.key_id, "wallet-1") == 0);
    CHECK(ct == w.data + TSS_SEALED_HEADER_V2_LEN && h.party_id == 5);
    uint8_t out[64];
    size_t out_len = 0;
    CHECK_OK(tss_sealed_open_with_key(w.data, w.len, key, &h, out, sizeof out, &out_len));
    CHECK(out_len == 40 && out[0] == 1 && out[2] == 3);
    /* Wrong key: corrupt (65), not a passphrase problem. */
    CHECK_ERR(tss_sealed_open_with_key(w.data, w.len, other, &h, out, sizeof out, &out_len),
              TSS_E_CORRUPT);
    /* Never opened with a passphrase, and a v1 file never with a key. */
    CHECK_ERR(tss_sealed_open(w.data, w.len, (const uint8_t *)"pw", 2, &h, out, sizeof out,
                              &out_len),
              TSS_E_UNSUPPORTED);
    tss_writer v1;
    tss_sealed_header h1 = {.content = TSS_CONTENT_MNEMONIC, .kdf = {1, 8192}, .party_id = 1};
    tss_writer_init(&v1, TSS_SEALED_MAX_FILE);
    CHECK_OK(tss_sealed_seal(&h1, (const uint8_t *)"pw", 2, out, 17, &v1));
    CHECK(h1.version == 1 && v1.len == TSS_SEALED_HEADER_LEN + 17 + 16 + 32);
    CHECK_ERR(tss_sealed_open_with_key(v1.data, v1.len, key, &h, out, sizeof out, &out_len),
              TSS_E_UNSUPPORTED);
    tss_writer_free(&v1);
    /* Every flipped bit and every truncation is exit 65 at parse time. */
    size_t detected = 0;
    for (size_t i = 0; i < w.len; i++) {
        w.data[i] ^= 0x10;
        tss_result r = tss_sealed_parse(w.data, w.len, &h, &ct);
        detected += !tss_is_ok(r) && tss_err_exit_code(r.err) == 65;
        w.data[i] ^= 0x10;
    }
    CHECK(detected == w.len);
    detected = 0;
    for (size_t len = 0; len < w.len; len++) {
        tss_result r = tss_sealed_parse(w.data, len, &h, &ct);
        detected += !tss_is_ok(r) && tss_err_exit_code(r.err) == 65;
    }
    CHECK(detected == w.len);
    /* The key id is authenticated: changed and re-checksummed, the AEAD fails. */
    w.data[TSS_SEALED_HEADER_LEN - 4 + 1] = 'W';
    recompute_checksum(w.data, w.len);
    CHECK_OK(tss_sealed_parse(w.data, w.len, &h, &ct));
    CHECK(strcmp(h.key_id, "Wallet-1") == 0);
    CHECK_ERR(tss_sealed_open_with_key(w.data, w.len, key, &h, out, sizeof out, &out_len),
              TSS_E_CORRUPT);
    /* A malformed key id field (bad character, non-zero padding) is refused. */
    w.data[TSS_SEALED_HEADER_LEN - 4 + 1] = '/';
    recompute_checksum(w.data, w.len);
    CHECK_ERR(tss_sealed_parse(w.data, w.len, &h, &ct), TSS_E_CORRUPT);
    w.data[TSS_SEALED_HEADER_LEN - 4 + 1] = 'w';
    w.data[TSS_SEALED_HEADER_LEN - 4 + 1 + 40] = 'x';
    recompute_checksum(w.data, w.len);
    CHECK_ERR(tss_sealed_parse(w.data, w.len, &h, &ct), TSS_E_CORRUPT);
    w.data[TSS_SEALED_HEADER_LEN - 4 + 1 + 40] = 0;
    /* KDF fields must be zero in v2; content 1 is not allowed in v2. */
    w.data[23] = 1; /* salt */
    recompute_checksum(w.data, w.len);
    CHECK_ERR(tss_sealed_parse(w.data, w.len, &h, &ct), TSS_E_CORRUPT);
    w.data[23] = 0;
    w.data[9] = TSS_CONTENT_MNEMONIC;
    recompute_checksum(w.data, w.len);
    CHECK_ERR(tss_sealed_parse(w.data, w.len, &h, &ct), TSS_E_UNSUPPORTED);
    w.data[9] = TSS_CONTENT_KEYSHARE;
    recompute_checksum(w.data, w.len);
    CHECK_OK(tss_sealed_parse(w.data, w.len, &h, &ct));
    tss_writer_free(&w);
    /* Seal-time checks. */
    tss_sealed_header bad = {.content = TSS_CONTENT_MNEMONIC};
    snprintf(bad.key_id, sizeof bad.key_id, "k");
    tss_writer_init(&w, TSS_SEALED_MAX_FILE);
    CHECK_ERR(tss_sealed_seal_with_key(&bad, key, out, 1, &w), TSS_E_USAGE);
    bad.content = TSS_CONTENT_PRESIG;
    bad.key_id[0] = '\0';
    CHECK_ERR(tss_sealed_seal_with_key(&bad, key, out, 1, &w), TSS_E_USAGE);
    snprintf(bad.key_id, sizeof bad.key_id, "a/b");
    CHECK_ERR(tss_sealed_seal_with_key(&bad, key, out, 1, &w), TSS_E_USAGE);
    tss_sealed_header pw = {.content = TSS_CONTENT_KEYSHARE, .kdf = {1, 8192}};
    CHECK_ERR(tss_sealed_seal(&pw, (const uint8_t *)"p", 1, out, 1, &w), TSS_E_USAGE);
    tss_writer_free(&w);
}

/* A storage-key file dropped in as mnemonic.sealed is not a keystore. */
static void mnemonic_path_refuses_v2(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ks-v2", tmp_root);
    CHECK_OK(tss_dir_ensure_private(dir));
    uint8_t key[32] = {9};
    tss_writer w;
    seal_v2(&w, key, "k", TSS_CONTENT_KEYSHARE);
    CHECK_OK(tss_file_write_atomic(dir, TSS_MNEMONIC_FILE, w.data, w.len, false, NULL));
    tss_writer_free(&w);
    tss_keystore_info info;
    CHECK_ERR(tss_keystore_inspect(dir, &info), TSS_E_CORRUPT);
    CHECK(detail_has("not a sealed mnemonic"));
    tss_passphrase pass = {tss_secret_alloc(8), 2};
    memcpy(pass.bytes, "pw", 2);
    CHECK_ERR(tss_keystore_unseal(dir, &pass, NULL, NULL, NULL), TSS_E_UNSUPPORTED);
    tss_passphrase_free(&pass);
}

/* ---- key shares ------------------------------------------------------------------ */

static void share_round_trip_and_list(void) {
    char state[512], p[700];
    for (uint16_t party = 1; party <= 3; party++) {
        tss_store_ctx ctx = make_ctx(state, sizeof state, party);
        CHECK_OK(tss_share_save(&ctx, k3[party - 1]));
        tss_keyshare *back = NULL;
        CHECK_OK(tss_share_load(&ctx, KEY_ID, &back));
        CHECK(back && shares_equal(back, k3[party - 1]));
        tss_keyshare_free(back);
        CHECK(mode_of(state) == 0700);
        path_of(p, sizeof p, state, "keys");
        CHECK(mode_of(p) == 0700);
        path_of(p, sizeof p, state, "keys/" KEY_ID ".share");
        CHECK(mode_of(p) == 0600);
        /* The header names the owner and key without any secret. */
        size_t len;
        uint8_t *file = slurp(p, &len);
        tss_sealed_header h;
        const uint8_t *ct;
        CHECK(file && tss_is_ok(tss_sealed_parse(file, len, &h, &ct)));
        CHECK(h.party_id == party && strcmp(h.key_id, KEY_ID) == 0 &&
              h.content == TSS_CONTENT_KEYSHARE &&
              memcmp(h.identity, pkeys[party]->identity_public, 32) == 0);
        free(file);
    }
    /* Listing: sorted, ignoring stray names. */
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    tss_key_id_list list;
    CHECK_OK(tss_share_list(&ctx, &list));
    CHECK(list.count == 0);
    tss_key_id_list_free(&list);
    tss_keyshare *copy = NULL;
    tss_writer w;
    tss_writer_init(&w, 1u << 20);
    CHECK_OK(tss_keyshare_encode(k3[0], &w));
    CHECK_OK(tss_keyshare_decode(&copy, w.data, w.len));
    tss_writer_free(&w);
    const char *ids[] = {"zeta", KEY_ID, "Alpha.1", "m_2"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(copy->key_id, sizeof copy->key_id, "%s", ids[i]);
        CHECK_OK(tss_share_save(&ctx, copy));
    }
    tss_keyshare_free(copy);
    path_of(p, sizeof p, state, "keys/README");
    spit(p, (const uint8_t *)"x", 1, 0600);
    path_of(p, sizeof p, state, "keys/.tmp.share");
    spit(p, (const uint8_t *)"x", 1, 0600);
    path_of(p, sizeof p, state, "keys/.zeta.share.0011223344556677.tmp");
    spit(p, (const uint8_t *)"x", 1, 0600);
    CHECK_OK(tss_share_list(&ctx, &list));
    CHECK(list.count == 5);
    if (list.count == 5) {
        CHECK(strcmp(list.ids[0], ".tmp") == 0); /* a valid key id, listed as such */
        CHECK(strcmp(list.ids[1], "Alpha.1") == 0 && strcmp(list.ids[2], "m_2") == 0 &&
              strcmp(list.ids[3], KEY_ID) == 0 && strcmp(list.ids[4], "zeta") == 0);
    }
    tss_key_id_list_free(&list);
    /* Loading one of the renamed copies works: the key id is inside. */
    tss_keyshare *z = NULL;
    CHECK_OK(tss_share_load(&ctx, "zeta", &z));
    CHECK(z && strcmp(z->key_id, "zeta") == 0);
    tss_keyshare_free(z);
    CHECK_ERR(tss_share_load(&ctx, "missing", &z), TSS_E_NOT_FOUND);
}

static void share_overwrite_refused(void) {
    char state[512], p[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 2);
    CHECK_OK(tss_share_save(&ctx, k3[1]));
    path_of(p, sizeof p, state, "keys/" KEY_ID ".share");
    size_t len1, len2;
    uint8_t *before = slurp(p, &len1);
    /* Saving again (same or another share under that key id) is refused. */
    CHECK_ERR(tss_share_save(&ctx, k3[1]), TSS_E_EXISTS);
    CHECK(detail_has("refusing to overwrite"));
    uint8_t *after = slurp(p, &len2);
    CHECK(before && after && len1 == len2 && memcmp(before, after, len1) == 0);
    free(before);
    free(after);
    /* Not this party's share; a key id naming a directory. */
    CHECK_ERR(tss_share_save(&ctx, k3[0]), TSS_E_INVALID);
    CHECK(detail_has("party 1's"));
    CHECK_ERR(tss_store_key_id_check(".."), TSS_E_INVALID);
    CHECK_ERR(tss_store_key_id_check("."), TSS_E_INVALID);
    CHECK_ERR(tss_store_key_id_check("a/b"), TSS_E_INVALID);
    CHECK_OK(tss_store_key_id_check("..a"));
    tss_keyshare *ks = NULL;
    CHECK_ERR(tss_share_load(&ctx, "..", &ks), TSS_E_INVALID);
    tss_presig_store *ps = NULL;
    CHECK_ERR(tss_presig_store_open(&ps, &ctx, ".."), TSS_E_INVALID);
    tss_sid_log *sl = NULL;
    CHECK_ERR(tss_sid_log_open(&sl, &ctx, "."), TSS_E_INVALID);
}

/* Wire session ids are refused once seen, across a restart (reopen), and a
 * key's sign-sid log is not mistaken for the session log or vice versa. */
static void wire_session_log_survives_restart(void) {
    char state[512];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    uint8_t a[TSS_WIRE_SESSION_ID_LEN], b[TSS_WIRE_SESSION_ID_LEN];
    memset(a, 0xa1, sizeof a);
    memset(b, 0xb2, sizeof b);
    tss_session_log *l = NULL;
    CHECK_OK(tss_session_log_open(&l, &ctx));
    CHECK_OK(tss_session_log_claim(l, a));
    CHECK_ERR(tss_session_log_claim(l, a), TSS_E_PROTOCOL);
    CHECK(detail_has("session id already used") && detail_has("coordinator"));
    /* One handle per process: a second open fails (flock) instead of racing. */
    tss_session_log *l2 = NULL;
    CHECK(!tss_is_ok(tss_session_log_open(&l2, &ctx)));
    tss_session_log_close(l);
    /* After a restart: still refused; a new id is fine. */
    CHECK_OK(tss_session_log_open(&l, &ctx));
    CHECK(tss_session_log_count(l) == 1);
    CHECK_ERR(tss_session_log_claim(l, a), TSS_E_PROTOCOL);
    CHECK_OK(tss_session_log_claim(l, b));
    tss_session_log_close(l);
    /* A key whose id is the log's name keeps its own sign-sid log. */
    tss_sid_log *sl = NULL;
    CHECK_OK(tss_sid_log_open(&sl, &ctx, "wire-sessions"));
    CHECK(tss_sid_log_count(sl) == 0);
    tss_sid_log_close(sl);
    CHECK_OK(tss_session_log_open(&l, &ctx));
    CHECK(tss_session_log_count(l) == 2);
    tss_session_log_close(l);
}

static void share_tampered_truncated_renamed(void) {
    char state[512], p[700], q[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    CHECK_OK(tss_share_save(&ctx, k3[0]));
    path_of(p, sizeof p, state, "keys/" KEY_ID ".share");
    size_t len;
    uint8_t *orig = slurp(p, &len);
    if (!orig) return;
    tss_keyshare *ks = NULL;
    /* A flipped byte in the ciphertext. */
    orig[len / 2] ^= 1;
    spit(p, orig, len, 0600);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_CORRUPT);
    CHECK(detail_has("checksum mismatch") && detail_has(KEY_ID ".share"));
    /* Same, with the checksum recomputed: the AEAD catches it. */
    recompute_checksum(orig, len);
    spit(p, orig, len, 0600);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_CORRUPT);
    CHECK(detail_has("does not authenticate"));
    orig[len / 2] ^= 1;
    recompute_checksum(orig, len);
    /* Truncated. */
    spit(p, orig, len - 100, 0600);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_TRUNCATED);
    CHECK(detail_has("truncated"));
    spit(p, orig, 0, 0600);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_TRUNCATED);
    spit(p, orig, len, 0600);
    CHECK_OK(tss_share_load(&ctx, KEY_ID, &ks));
    tss_keyshare_free(ks);
    ks = NULL;
    /* Renamed to another key id. */
    path_of(q, sizeof q, state, "keys/other-key.share");
    spit(q, orig, len, 0600);
    CHECK_ERR(tss_share_load(&ctx, "other-key", &ks), TSS_E_CORRUPT);
    CHECK(detail_has("belongs to key id '" KEY_ID "'") && detail_has("renamed"));
    /* Another party's file copied in. */
    char state2[512];
    tss_store_ctx ctx2 = make_ctx(state2, sizeof state2, 2);
    CHECK_OK(tss_share_save(&ctx2, k3[1]));
    char p2[700];
    path_of(p2, sizeof p2, state2, "keys/" KEY_ID ".share");
    size_t len2;
    uint8_t *theirs = slurp(p2, &len2);
    spit(p, theirs, len2, 0600);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_CORRUPT);
    CHECK(detail_has("belongs to party 2") && detail_has("this is party 1"));
    free(theirs);
    /* Same party id and identity, another storage key (a forged header). */
    spit(p, orig, len, 0600);
    tss_party_keys *forged = tss_secret_alloc(sizeof *forged);
    *forged = *pkeys[1];
    randombytes_buf(forged->storage_key, 32);
    tss_store_ctx fctx = ctx;
    fctx.keys = forged;
    CHECK_ERR(tss_share_load(&fctx, KEY_ID, &ks), TSS_E_CORRUPT);
    CHECK(detail_has("does not authenticate"));
    /* A presignature-type file under a share name. */
    tss_writer w;
    seal_v2(&w, pkeys[1]->storage_key, KEY_ID, TSS_CONTENT_PRESIG);
    spit(p, w.data, w.len, 0600);
    tss_writer_free(&w);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_CORRUPT);
    CHECK(detail_has("is a presignature") && detail_has("expected a key share"));
    CHECK(ks == NULL);
    tss_secret_free(forged);
    free(orig);
}

static tss_result fail_before_rename(void *ctx) {
    (*(int *)ctx)++;
    return tss_fail(TSS_E_IO, "simulated crash before rename");
}

/* Issue 14: the party's share cache answers exactly as tss_share_load does,
 * also when the file is replaced (a ban) or rewritten in place with its old
 * mtime put back (cp -p of a backup over it: only ctime tells). */
static void share_cache_sees_replacements(void) {
    char state[512], p[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    CHECK_OK(tss_share_save(&ctx, k3[0]));
    path_of(p, sizeof p, state, "keys/" KEY_ID ".share");
    size_t unbanned_len = 0;
    uint8_t *unbanned = slurp(p, &unbanned_len);
    tss_share_cache *c = NULL;
    CHECK_OK(tss_share_cache_new(2, &c));
    if (!c || !unbanned) return;
    size_t hits, misses;
    tss_keyshare *a = NULL, *b = NULL;
    CHECK_OK(tss_share_cache_load(c, &ctx, KEY_ID, &a));
    CHECK_OK(tss_share_cache_load(c, &ctx, KEY_ID, &b));
    tss_share_cache_stats(c, &hits, &misses);
    CHECK(hits == 1 && misses == 1);
    CHECK(a && b && a != b && a->peers != b->peers && shares_equal(a, k3[0]) && shares_equal(b, k3[0]));
    tss_keyshare_free(a);
    tss_keyshare_free(b);

    /* A ban re-seals the file (atomic rename): the next load sees it. */
    CHECK_OK(tss_share_record_ban(&ctx, KEY_ID, 3, NULL));
    a = NULL;
    CHECK_OK(tss_share_cache_load(c, &ctx, KEY_ID, &a));
    CHECK(a && a->banned == 1u << 2);
    tss_keyshare_free(a);
    tss_share_cache_stats(c, &hits, &misses);
    CHECK(hits == 1 && misses == 2);

    /* The old (unbanned) file written over the same inode, same size, its
     * mtime restored: the cache must not serve the banned copy's twin. */
    struct stat st;
    CHECK(stat(p, &st) == 0);
    CHECK((size_t)st.st_size == unbanned_len);
    usleep(20000); /* a ctime the kernel's clock can tell apart */
    spit(p, unbanned, unbanned_len, 0600);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    CHECK(utimensat(AT_FDCWD, p, times, 0) == 0);
    a = NULL;
    CHECK_OK(tss_share_cache_load(c, &ctx, KEY_ID, &a));
    CHECK(a && a->banned == 0);
    tss_keyshare_free(a);

    /* Gone from disk: the store's own error, not a cached share. */
    CHECK(unlink(p) == 0);
    a = NULL;
    tss_result r = tss_share_cache_load(c, &ctx, KEY_ID, &a);
    CHECK(r.err == TSS_E_NOT_FOUND && a == NULL);
    free(unbanned);
    tss_share_cache_free(c);
}

static void bans_persist(void) {
    char state[512], p[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    CHECK_OK(tss_share_save(&ctx, k3[0]));
    uint32_t banned = 99;
    CHECK_OK(tss_share_record_ban(&ctx, KEY_ID, 3, &banned));
    CHECK(banned == 1u << 2);
    tss_keyshare *ks = NULL;
    CHECK_OK(tss_share_load(&ctx, KEY_ID, &ks));
    CHECK(ks && ks->banned == 1u << 2);
    /* The signing layer then refuses the banned peer. */
    if (ks) {
        static const uint16_t S13[2] = {1, 3};
        tss_sign_config c = {.share = ks, .count = 2, .registry = {mem_claim, NULL}};
        memcpy(c.signers, S13, sizeof S13);
        tss_sign *s = NULL;
        CHECK(!tss_is_ok(tss_sign_new(&s, &c)));
        tss_sign_free(s);
    }
    tss_keyshare_free(ks);
    /* Idempotent; refuses self and strangers. */
    CHECK_OK(tss_share_record_ban(&ctx, KEY_ID, 3, NULL));
    CHECK_ERR(tss_share_record_ban(&ctx, KEY_ID, 1, NULL), TSS_E_INVALID);
    CHECK_ERR(tss_share_record_ban(&ctx, KEY_ID, 7, NULL), TSS_E_INVALID);
    CHECK_ERR(tss_share_record_ban(&ctx, "nope", 2, NULL), TSS_E_NOT_FOUND);
    /* A failure before the rename leaves the old file intact and no temp. */
    path_of(p, sizeof p, state, "keys/" KEY_ID ".share");
    size_t len1, len2;
    uint8_t *before = slurp(p, &len1);
    int calls = 0;
    tss_atomic_hooks hooks = {fail_before_rename, &calls};
    tss_store_ctx hctx = ctx;
    hctx.atomic = &hooks;
    CHECK_ERR(tss_share_record_ban(&hctx, KEY_ID, 2, NULL), TSS_E_IO);
    CHECK(calls == 1);
    uint8_t *after = slurp(p, &len2);
    CHECK(before && after && len1 == len2 && memcmp(before, after, len1) == 0);
    free(before);
    free(after);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s/keys' | wc -l) -eq 1", state);
    CHECK(system(cmd) == 0);
    CHECK_OK(tss_share_load(&ctx, KEY_ID, &ks));
    CHECK(ks && ks->banned == 1u << 2);
    tss_keyshare_free(ks);
    /* And then it succeeds. */
    CHECK_OK(tss_share_record_ban(&ctx, KEY_ID, 2, &banned));
    CHECK(banned == ((1u << 1) | (1u << 2)));
    CHECK_OK(tss_share_load(&ctx, KEY_ID, &ks));
    CHECK(ks && ks->banned == ((1u << 1) | (1u << 2)));
    tss_keyshare_free(ks);
}

/* The key's shared ban state: in memory at once; a failed write keeps it in
 * memory and refuses every session of the key, naming the reason, until a
 * retry (on the next request) writes it. */
static void ban_state_survives_a_failed_write(void) {
    char state[512];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    CHECK_OK(tss_share_save(&ctx, k3[0]));
    tss_ban_state b;
    tss_ban_state_init(&b, KEY_ID);
    tss_ban_state_merge(&b, k3[0]);
    static const uint16_t S12[2] = {1, 2}, S13[2] = {1, 3};
    CHECK_OK(tss_ban_state_admit(&b, &ctx, S13, 2));
    CHECK(tss_ban_state_set(&b, 3));
    CHECK(!tss_ban_state_set(&b, 3)); /* idempotent */
    CHECK(tss_ban_state_view(&b, 3) && !tss_ban_state_view(&b, 2));
    int calls = 0;
    tss_atomic_hooks hooks = {fail_before_rename, &calls};
    tss_store_ctx full = ctx;
    full.atomic = &hooks;
    CHECK_ERR(tss_ban_state_persist(&b, &full), TSS_E_IO);
    /* Held in memory, not on disk: every session of the key is refused. */
    CHECK(tss_ban_state_has(&b, 3));
    tss_keyshare *ks = NULL;
    CHECK_OK(tss_share_load(&ctx, KEY_ID, &ks));
    CHECK(ks && ks->banned == 0);
    tss_keyshare_free(ks);
    CHECK_ERR(tss_ban_state_admit(&b, &full, S12, 2), TSS_E_IO);
    CHECK(detail_has("ban for party 3 not yet on disk: ") && detail_has("simulated crash"));
    CHECK(calls == 2); /* the admission retried the write */
    /* Writing works again: the next request persists it and is admitted
     * unless it includes party 3. */
    CHECK_OK(tss_ban_state_admit(&b, &ctx, S12, 2));
    CHECK(b.unsaved == 0);
    CHECK_ERR(tss_ban_state_admit(&b, &ctx, S13, 2), TSS_E_PROTOCOL);
    CHECK(detail_has("party 3 is banned"));
    CHECK_OK(tss_share_load(&ctx, KEY_ID, &ks));
    CHECK(ks && ks->banned == 1u << 2);
    /* After a restart the state comes back from disk. */
    tss_ban_state again;
    tss_ban_state_init(&again, KEY_ID);
    if (ks) tss_ban_state_merge(&again, ks);
    CHECK(tss_ban_state_has(&again, 3) && !tss_ban_state_has(&again, 2));
    tss_keyshare_free(ks);
    /* Ids off the list are never banned (no bit beyond the word). */
    CHECK(!tss_ban_state_set(&again, 0) && !tss_ban_state_set(&again, 64) &&
          !tss_ban_state_set(&again, 65535));
    CHECK(tss_ban_state_set(&again, 32) && tss_ban_state_has(&again, 32));
}

static void permission_problems_named(void) {
    char state[512], p[700], q[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    CHECK_OK(tss_share_save(&ctx, k3[0]));
    tss_keyshare *ks = NULL;
    path_of(p, sizeof p, state, "keys/" KEY_ID ".share");
    CHECK(chmod(p, 0644) == 0);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_PERMISSION);
    CHECK(detail_has("chmod 600") && detail_has(KEY_ID ".share"));
    CHECK(tss_err_exit_code(TSS_E_PERMISSION) == 77);
    CHECK(chmod(p, 0600) == 0);
    path_of(q, sizeof q, state, "keys");
    CHECK(chmod(q, 0750) == 0);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_PERMISSION);
    CHECK(detail_has("chmod 700") && detail_has("/keys"));
    CHECK_ERR(tss_share_save(&ctx, k3[0]), TSS_E_PERMISSION);
    tss_key_id_list list;
    CHECK_ERR(tss_share_list(&ctx, &list), TSS_E_PERMISSION);
    CHECK(chmod(q, 0700) == 0);
    CHECK(chmod(state, 0755) == 0);
    CHECK_ERR(tss_share_load(&ctx, KEY_ID, &ks), TSS_E_PERMISSION);
    CHECK(chmod(state, 0700) == 0);
    /* Symlinked share. */
    char state2[512], p2[700];
    tss_store_ctx ctx2 = make_ctx(state2, sizeof state2, 1);
    CHECK_OK(tss_dir_ensure_private(state2));
    path_of(p2, sizeof p2, state2, "keys");
    CHECK_OK(tss_dir_ensure_private(p2));
    path_of(p2, sizeof p2, state2, "keys/" KEY_ID ".share");
    CHECK(symlink(p, p2) == 0);
    CHECK_ERR(tss_share_load(&ctx2, KEY_ID, &ks), TSS_E_PERMISSION);
    CHECK(detail_has("symbolic link"));
    /* Presignature directory, spent log and sid log. */
    tss_presig_store *st = NULL;
    CHECK_OK(tss_presig_store_open(&st, &ctx, KEY_ID));
    tss_presig_store_close(st);
    path_of(p, sizeof p, state, "presig/" KEY_ID "/spent.log");
    CHECK(mode_of(p) == 0600);
    CHECK(chmod(p, 0640) == 0);
    CHECK_ERR(tss_presig_store_open(&st, &ctx, KEY_ID), TSS_E_PERMISSION);
    CHECK(detail_has("spent.log") && detail_has("chmod 600"));
    CHECK(chmod(p, 0600) == 0);
    path_of(p, sizeof p, state, "presig/" KEY_ID);
    CHECK(chmod(p, 0755) == 0);
    CHECK_ERR(tss_presig_store_open(&st, &ctx, KEY_ID), TSS_E_PERMISSION);
    CHECK(detail_has("chmod 700"));
    CHECK(chmod(p, 0700) == 0);
    CHECK_OK(tss_presig_store_open(&st, &ctx, KEY_ID));
    tss_presig_store_close(st);
    tss_sid_log *sl = NULL;
    CHECK_OK(tss_sid_log_open(&sl, &ctx, KEY_ID));
    tss_sid_log_close(sl);
    path_of(p, sizeof p, state, "sids/" KEY_ID ".sids");
    CHECK(mode_of(p) == 0600);
    CHECK(chmod(p, 0604) == 0);
    CHECK_ERR(tss_sid_log_open(&sl, &ctx, KEY_ID), TSS_E_PERMISSION);
    CHECK(chmod(p, 0600) == 0);
    path_of(q, sizeof q, state, "sids/link.sids");
    CHECK(symlink(p, q) == 0);
    CHECK_ERR(tss_sid_log_open(&sl, &ctx, "link"), TSS_E_PERMISSION);
    CHECK(detail_has("symbolic link"));
}

/* ---- presignatures ------------------------------------------------------------------ */

static void open_pair(tss_presig_store **st, tss_store_ctx *ctx) {
    for (int k = 0; k < 2; k++) {
        st[k] = NULL;
        CHECK_OK(tss_presig_store_open(&st[k], &ctx[k], KEY_ID));
    }
}

static void close_pair(tss_presig_store **st) {
    for (int k = 0; k < 2; k++) tss_presig_store_close(st[k]);
}

static void free_pair(tss_presig **p) {
    for (int k = 0; k < 2; k++) {
        tss_presig_free(p[k]);
        p[k] = NULL;
    }
}

static void presig_put_take_consume(void) {
    char state[2][512], p[700];
    tss_store_ctx ctx[2] = {make_ctx(state[0], sizeof state[0], 1),
                            make_ctx(state[1], sizeof state[1], 2)};
    tss_presig_store *st[2];
    open_pair(st, ctx);
    if (!st[0] || !st[1]) return;
    tss_presig *pre[2], *got[2] = {NULL, NULL};
    presign(pre);
    if (!pre[0] || !pre[1]) return;
    uint8_t id[32];
    memcpy(id, pre[0]->presign_id, 32);
    size_t count = 9;
    CHECK_OK(tss_presig_store_count(st[0], &count));
    CHECK(count == 0);
    for (int k = 0; k < 2; k++) CHECK_OK(tss_presig_store_put(st[k], pre[k]));
    CHECK_ERR(tss_presig_store_put(st[0], pre[0]), TSS_E_EXISTS);
    CHECK_ERR(tss_presig_store_put(st[0], pre[1]), TSS_E_INVALID); /* party 2's */
    presig_path(p, sizeof p, state[0], id);
    CHECK(mode_of(p) == 0600);
    CHECK_OK(tss_presig_store_count(st[0], &count));
    CHECK(count == 1);
    uint8_t ids[4][32];
    CHECK_OK(tss_presig_store_list(st[0], ids, 4, &count));
    CHECK(count == 1 && memcmp(ids[0], id, 32) == 0);
    size_t saved_len;
    uint8_t *saved = slurp(p, &saved_len); /* a "backup" of the file */
    for (int k = 0; k < 2; k++) CHECK_OK(tss_presig_store_take(st[k], id, &got[k]));
    CHECK(got[0] && got[1] && memcmp(got[0]->presign_id, id, 32) == 0);
    /* A second concurrent take of the same id. */
    tss_presig *twice[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) CHECK_OK(tss_presig_store_take(st[k], id, &twice[k]));
    uint8_t digest[32];
    randombytes_buf(digest, sizeof digest);
    CHECK(sign_online(got, st, digest, NULL));
    /* Consumed: spent, file gone, never usable again. */
    CHECK(tss_presig_store_is_spent(st[0], id) && !exists(p));
    CHECK_OK(tss_presig_store_count(st[0], &count));
    CHECK(count == 0);
    tss_err errs[2];
    uint8_t digest2[32] = {0x42};
    CHECK(!sign_online(twice, st, digest2, errs));
    CHECK(errs[0] == TSS_E_PROTOCOL && errs[1] == TSS_E_PROTOCOL);
    tss_presig *again = NULL;
    CHECK_ERR(tss_presig_store_take(st[0], id, &again), TSS_E_PROTOCOL);
    CHECK(detail_has("already consumed"));
    CHECK_ERR(tss_presig_store_put(st[0], pre[0]), TSS_E_PROTOCOL);
    CHECK_ERR(tss_presig_store_consume(st[0], id), TSS_E_PROTOCOL);
    /* Restart: still refused. */
    close_pair(st);
    open_pair(st, ctx);
    CHECK(tss_presig_store_collected(st[0]) == 0);
    CHECK_ERR(tss_presig_store_take(st[0], id, &again), TSS_E_PROTOCOL);
    /* The file restored from a backup: refused and removed while running... */
    if (saved) spit(p, saved, saved_len, 0600);
    CHECK_OK(tss_presig_store_count(st[0], &count));
    CHECK(count == 0);
    CHECK_ERR(tss_presig_store_take(st[0], id, &again), TSS_E_PROTOCOL);
    CHECK(!exists(p));
    /* ...and restored again while stopped: collected on start. */
    close_pair(st);
    if (saved) spit(p, saved, saved_len, 0600);
    open_pair(st, ctx);
    CHECK(tss_presig_store_collected(st[0]) == 1 && !exists(p));
    CHECK_ERR(tss_presig_store_take(st[0], id, &again), TSS_E_PROTOCOL);
    /* Restored under another name: its authenticated id gives it away. */
    uint8_t fake[32];
    randombytes_buf(fake, sizeof fake);
    char fp[700];
    presig_path(fp, sizeof fp, state[0], fake);
    if (saved) spit(fp, saved, saved_len, 0600);
    CHECK_ERR(tss_presig_store_take(st[0], fake, &again), TSS_E_CORRUPT);
    CHECK(detail_has("another presignature id"));
    CHECK(again == NULL);
    unlink(fp);
    CHECK_ERR(tss_presig_store_take(st[0], fake, &again), TSS_E_NOT_FOUND);
    close_pair(st);
    free(saved);
    free_pair(pre);
    free_pair(got);
    free_pair(twice);
}

static tss_result crash_after_spend(void *ctx, const uint8_t id[32]) {
    (void)id;
    (*(int *)ctx)++;
    return tss_fail(TSS_E_IO, "simulated crash after the spent-log append");
}

static void crash_between_log_and_unlink(void) {
    char state[2][512], p[700];
    int crashes = 0;
    tss_spend_hooks hooks = {crash_after_spend, &crashes};
    tss_store_ctx ctx[2] = {make_ctx(state[0], sizeof state[0], 1),
                            make_ctx(state[1], sizeof state[1], 2)};
    ctx[0].spend = &hooks;
    tss_presig_store *st[2];
    open_pair(st, ctx);
    if (!st[0] || !st[1]) return;
    tss_presig *pre[2], *got[2] = {NULL, NULL};
    presign(pre);
    if (!pre[0] || !pre[1]) return;
    uint8_t id[32];
    memcpy(id, pre[0]->presign_id, 32);
    for (int k = 0; k < 2; k++) CHECK_OK(tss_presig_store_put(st[k], pre[k]));
    for (int k = 0; k < 2; k++) CHECK_OK(tss_presig_store_take(st[k], id, &got[k]));
    uint8_t digest[32] = {7};
    tss_err errs[2];
    CHECK(!sign_online(got, st, digest, errs));
    CHECK(crashes == 1 && errs[0] == TSS_E_IO); /* party 1 withheld w_1 */
    presig_path(p, sizeof p, state[0], id);
    CHECK(exists(p) && tss_presig_store_is_spent(st[0], id));
    /* "Restart" party 1 (without the fault). */
    tss_presig_store_close(st[0]);
    ctx[0].spend = NULL;
    CHECK_OK(tss_presig_store_open(&st[0], &ctx[0], KEY_ID));
    CHECK(tss_presig_store_collected(st[0]) == 1);
    CHECK(!exists(p));
    tss_presig *again = NULL;
    CHECK_ERR(tss_presig_store_take(st[0], id, &again), TSS_E_PROTOCOL);
    size_t count = 9;
    CHECK_OK(tss_presig_store_count(st[0], &count));
    CHECK(count == 0);
    CHECK_ERR(tss_presig_store_consume(st[0], id), TSS_E_PROTOCOL);
    /* Party 2 (no crash) consumed it normally. */
    CHECK(tss_presig_store_is_spent(st[1], id));
    CHECK_ERR(tss_presig_store_take(st[1], id, &again), TSS_E_PROTOCOL);
    close_pair(st);
    free_pair(pre);
    free_pair(got);
}

static void presig_wrong_key_or_party(void) {
    char state[512], p[700], q[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    tss_presig_store *st = NULL, *other = NULL;
    CHECK_OK(tss_presig_store_open(&st, &ctx, KEY_ID));
    CHECK_OK(tss_presig_store_open(&other, &ctx, "other-key"));
    if (!st || !other) return;
    tss_presig *pre[2];
    presign(pre);
    if (!pre[0]) return;
    CHECK_ERR(tss_presig_store_put(other, pre[0]), TSS_E_INVALID);
    CHECK_OK(tss_presig_store_put(st, pre[0]));
    /* The file moved into another key's directory. */
    presig_path(p, sizeof p, state, pre[0]->presign_id);
    char hex[65];
    tss_hex_encode(hex, pre[0]->presign_id, 32);
    snprintf(q, sizeof q, "%s/presig/other-key/%s.presig", state, hex);
    CHECK(link(p, q) == 0);
    tss_presig *got = NULL;
    CHECK_ERR(tss_presig_store_take(other, pre[0]->presign_id, &got), TSS_E_CORRUPT);
    CHECK(detail_has("belongs to key id '" KEY_ID "'"));
    /* Party 2's storage would refuse party 1's presignature. */
    char state2[512];
    tss_store_ctx ctx2 = make_ctx(state2, sizeof state2, 2);
    tss_presig_store *st2 = NULL;
    CHECK_OK(tss_presig_store_open(&st2, &ctx2, KEY_ID));
    char r[700];
    presig_path(r, sizeof r, state2, pre[0]->presign_id);
    CHECK(link(p, r) == 0);
    CHECK_ERR(tss_presig_store_take(st2, pre[0]->presign_id, &got), TSS_E_CORRUPT);
    CHECK(detail_has("belongs to party 1"));
    /* A used presignature is not stored. */
    pre[1]->used = true;
    CHECK_ERR(tss_presig_store_put(st2, pre[1]), TSS_E_PROTOCOL);
    /* A temp file from an interrupted put is collected on open. */
    char t[700];
    snprintf(t, sizeof t, "%s/presig/%s/.%s.presig.0011223344556677.tmp", state, KEY_ID, hex);
    spit(t, (const uint8_t *)"x", 1, 0600);
    tss_presig_store_close(st);
    CHECK_OK(tss_presig_store_open(&st, &ctx, KEY_ID));
    CHECK(tss_presig_store_collected(st) == 1 && !exists(t) && exists(p));
    /* Two handles on one key: the log lock refuses the second. */
    tss_presig_store *dup = NULL;
    CHECK_ERR(tss_presig_store_open(&dup, &ctx, KEY_ID), TSS_E_IO);
    CHECK(detail_has("in use"));
    tss_presig_store_close(st);
    tss_presig_store_close(st2);
    tss_presig_store_close(other);
    free_pair(pre);
}

/* ---- sign sids -------------------------------------------------------------------------- */

static void sid_registry_across_restarts(void) {
    char state[2][512];
    tss_store_ctx ctx[2] = {make_ctx(state[0], sizeof state[0], 1),
                            make_ctx(state[1], sizeof state[1], 2)};
    tss_sid_log *log[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) CHECK_OK(tss_sid_log_open(&log[k], &ctx[k], KEY_ID));
    if (!log[0] || !log[1]) return;
    tss_sid_registry reg[2] = {tss_sid_log_registry(log[0]), tss_sid_log_registry(log[1])};
    uint32_t session = next_session++;
    uint8_t digest[32] = {3};
    tss_err start[2];
    CHECK(run_sign(session, digest, reg, NULL, start));
    CHECK(tss_sid_log_count(log[0]) == 1 && tss_sid_log_count(log[1]) == 1);
    /* Same session again: the sid is refused at start. */
    CHECK(!run_sign(session, digest, reg, NULL, start));
    CHECK(start[0] == TSS_E_PROTOCOL && start[1] == TSS_E_PROTOCOL);
    /* After a restart as well. */
    for (int k = 0; k < 2; k++) {
        tss_sid_log_close(log[k]);
        CHECK_OK(tss_sid_log_open(&log[k], &ctx[k], KEY_ID));
        reg[k] = tss_sid_log_registry(log[k]);
    }
    CHECK(tss_sid_log_count(log[0]) == 1);
    CHECK(!run_sign(session, digest, reg, NULL, start));
    CHECK(start[0] == TSS_E_PROTOCOL && start[1] == TSS_E_PROTOCOL);
    CHECK(run_sign(next_session++, digest, reg, NULL, start));
    /* Direct claims. */
    uint8_t sid[32];
    randombytes_buf(sid, sizeof sid);
    CHECK_OK(tss_sid_log_claim(log[0], sid));
    CHECK_ERR(tss_sid_log_claim(log[0], sid), TSS_E_PROTOCOL);
    CHECK(detail_has("already used") && detail_has(KEY_ID ".sids"));
    CHECK(tss_sid_log_contains(log[0], sid) && !tss_sid_log_contains(log[1], sid));
    uint8_t zero[32] = {0};
    CHECK_ERR(tss_sid_log_claim(log[0], zero), TSS_E_INVALID);
    /* A second handle on the same log is refused while the first is open. */
    tss_sid_log *dup = NULL;
    CHECK_ERR(tss_sid_log_open(&dup, &ctx[0], KEY_ID), TSS_E_IO);
    for (int k = 0; k < 2; k++) tss_sid_log_close(log[k]);
    CHECK_OK(tss_sid_log_open(&dup, &ctx[0], KEY_ID));
    CHECK(dup && tss_sid_log_count(dup) == 3 && tss_sid_log_contains(dup, sid));
    tss_sid_log_close(dup);
}

/* ---- the spent-id log itself -------------------------------------------------------------- */

static void sid_log_path(char *out, size_t cap, const char *state, const char *key) {
    snprintf(out, cap, "%s/sids/%s.sids", state, key);
}

#define HL TSS_SPENT_HEADER_LEN
#define RL TSS_SPENT_RECORD_LEN

static void torn_final_record_tolerated(void) {
    char state[512], p[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    tss_sid_log *l = NULL;
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (!l) return;
    uint8_t ids[4][32];
    for (int i = 0; i < 3; i++) {
        randombytes_buf(ids[i], 32);
        CHECK_OK(tss_sid_log_claim(l, ids[i]));
    }
    tss_sid_log_close(l);
    sid_log_path(p, sizeof p, state, "k");
    CHECK(size_of(p) == HL + 3 * RL);
    /* A partial record (an append cut short by a crash). */
    randombytes_buf(ids[3], 32);
    append_bytes(p, ids[3], 10);
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (!l) return;
    CHECK(tss_sid_log_count(l) == 3 && tss_sid_log_repaired(l) == 10);
    CHECK(size_of(p) == HL + 3 * RL); /* truncated durably */
    for (int i = 0; i < 3; i++) CHECK(tss_sid_log_contains(l, ids[i]));
    CHECK(!tss_sid_log_contains(l, ids[3]));
    CHECK_OK(tss_sid_log_claim(l, ids[3])); /* lands on a record boundary */
    tss_sid_log_close(l);
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    CHECK(l && tss_sid_log_count(l) == 4 && tss_sid_log_repaired(l) == 0);
    tss_sid_log_close(l);
    /* A complete, authentic final record is never ignored, even if its
     * append was cut before it was acknowledged. */
    uint8_t mk[TSS_SPENT_MAC_KEY_LEN], extra[32], rec[RL];
    tss_spent_log_mac_key(mk, pkeys[1]->storage_key, TSS_SPENT_SIGN_SID, "k");
    randombytes_buf(extra, 32);
    tss_spent_log_record(rec, mk, 4, extra);
    append_bytes(p, rec, RL);
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    CHECK(l && tss_sid_log_count(l) == 5 && tss_sid_log_contains(l, extra));
    tss_sid_log_close(l);
    /* A zero-filled final record (size committed before data) is dropped. */
    uint8_t zeros[RL] = {0};
    append_bytes(p, zeros, RL);
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    CHECK(l && tss_sid_log_count(l) == 5 && tss_sid_log_repaired(l) == RL);
    tss_sid_log_close(l);
    CHECK(size_of(p) == HL + 5 * RL);
    /* A complete final record that is not authentic is damage, not a tear. */
    tss_spent_log_record(rec, mk, 5, extra);
    rec[0] ^= 1;
    append_bytes(p, rec, RL);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("record 5 (byte offset 288) fails its integrity check") &&
          detail_has("k.sids"));
    sodium_memzero(mk, sizeof mk);
}

static void corrupt_log_refused(void) {
    char state[512], p[700], q[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    tss_sid_log *l = NULL;
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (!l) return;
    uint8_t a[32], b[32];
    randombytes_buf(a, 32);
    randombytes_buf(b, 32);
    CHECK_OK(tss_sid_log_claim(l, a));
    CHECK_OK(tss_sid_log_claim(l, b));
    tss_sid_log_close(l);
    sid_log_path(p, sizeof p, state, "k");
    size_t len;
    uint8_t *good = slurp(p, &len);
    if (!good) return;
    uint8_t *bad = malloc(len + 2 * RL);
    struct {
        const char *what;
        size_t at;     /* byte to change, or SIZE_MAX */
        uint8_t value;
        size_t len;    /* resulting length */
        tss_err err;
        const char *detail;
    } cases[] = {
        {"magic", 0, 'X', len, TSS_E_CORRUPT, "bad magic"},
        {"version", 8, 1, len, TSS_E_UNSUPPORTED, "version 3"},
        {"kind", 9, 1, len, TSS_E_CORRUPT, "holds kind 3"},
        {"reserved", 10, 1, len, TSS_E_CORRUPT, "reserved"},
        {"binding", 20, 0xee, len, TSS_E_CORRUPT, "another key id"},
        {"header tag", 40, 0x01, len, TSS_E_CORRUPT, "header (byte offset 0) fails"},
        {"header cut", SIZE_MAX, 0, 20, TSS_E_CORRUPT, "shorter than its header"},
        {"v2 header cut", SIZE_MAX, 0, 40, TSS_E_CORRUPT, "shorter than its header"},
        {"empty", SIZE_MAX, 0, 0, TSS_E_CORRUPT, "shorter than its header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, good, len);
        if (cases[i].at != SIZE_MAX) bad[cases[i].at] ^= cases[i].value;
        spit(p, bad, cases[i].len, 0600);
        tss_result r = tss_sid_log_open(&l, &ctx, "k");
        CHECK(r.err == cases[i].err);
        if (r.err != cases[i].err) fprintf(stderr, "  case %s\n", cases[i].what);
        CHECK(tss_err_exit_code(r.err) == 65);
        CHECK(detail_has(cases[i].detail) && detail_has("k.sids"));
    }
    /* A record swapped with another, or removed from the middle. */
    memcpy(bad, good, HL);
    memcpy(bad + HL, good + HL + RL, RL);
    memcpy(bad + HL + RL, good + HL, RL);
    spit(p, bad, len, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("record 0 (byte offset 48) fails its integrity check"));
    memcpy(bad, good, HL);
    memcpy(bad + HL, good + HL + RL, RL);
    spit(p, bad, HL + RL, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("record 0 (byte offset 48) fails its integrity check"));
    /* A version-2 log relabelled as version 1 (whose records are untagged). */
    memcpy(bad, good, len);
    bad[8] = 1;
    spit(p, bad, len, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("version byte changed"));
    /* A duplicate record (authentic tags: only the key holder can do that). */
    uint8_t mk[TSS_SPENT_MAC_KEY_LEN];
    tss_spent_log_mac_key(mk, pkeys[1]->storage_key, TSS_SPENT_SIGN_SID, "k");
    memcpy(bad, good, len);
    tss_spent_log_record(bad + len, mk, 2, a);
    spit(p, bad, len + RL, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("repeats an earlier id"));
    /* A zero record before the end. */
    memcpy(bad, good, len);
    memset(bad + HL, 0, RL);
    spit(p, bad, len, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("all zeros"));
    /* A zero record followed by a torn one is not the "last record" case. */
    memcpy(bad, good, len);
    memset(bad + len, 0, RL);
    memset(bad + len + RL, 7, 5);
    spit(p, bad, len + RL + 5, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    /* The log of another key, or of the other kind, or another party's. */
    spit(p, good, len, 0600);
    sid_log_path(q, sizeof q, state, "k2");
    spit(q, good, len, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k2"), TSS_E_CORRUPT);
    CHECK(detail_has("another key id than 'k2'"));
    tss_store_ctx other = ctx;
    other.keys = pkeys[2];
    CHECK_ERR(tss_sid_log_open(&l, &other, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("header (byte offset 0) fails its integrity check"));
    tss_presig_store *st = NULL;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/presig", state);
    CHECK_OK(tss_dir_ensure_private(dir));
    snprintf(dir, sizeof dir, "%s/presig/k", state);
    CHECK_OK(tss_dir_ensure_private(dir));
    snprintf(q, sizeof q, "%s/presig/k/spent.log", state);
    spit(q, good, len, 0600);
    CHECK_ERR(tss_presig_store_open(&st, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("expected 1 (presignature ids)") && detail_has("spent.log"));
    /* The original still opens. */
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    CHECK(l && tss_sid_log_count(l) == 2);
    tss_sid_log_close(l);
    sodium_memzero(mk, sizeof mk);
    free(good);
    free(bad);
}

/* Finding 6: every single-byte change and every cut of a spent-id log (of
 * either kind) is either refused with the file and record named, or is a
 * torn tail whose dropped ids were the last ones (never an id from the
 * middle). The old, untagged format accepted most flips of id bytes. */
static void every_flip_and_cut_detected(void) {
    for (int kind = 0; kind < 2; kind++) {
        char state[512], p[700];
        tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
        uint8_t ids[4][32];
        for (int i = 0; i < 4; i++) randombytes_buf(ids[i], 32);
        const char *file;
        if (kind == 0) {
            tss_sid_log *l = NULL;
            CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
            if (!l) return;
            for (int i = 0; i < 4; i++) CHECK_OK(tss_sid_log_claim(l, ids[i]));
            tss_sid_log_close(l);
            sid_log_path(p, sizeof p, state, "k");
            file = "k.sids";
        } else {
            tss_presig_store *st = NULL;
            CHECK_OK(tss_presig_store_open(&st, &ctx, "k"));
            if (!st) return;
            /* Consuming an id without a file is fine: the log is what counts. */
            for (int i = 0; i < 4; i++) CHECK_OK(tss_presig_store_consume(st, ids[i]));
            tss_presig_store_close(st);
            snprintf(p, sizeof p, "%s/presig/k/spent.log", state);
            file = "spent.log";
        }
        size_t len;
        uint8_t *good = slurp(p, &len);
        if (!good) return;
        CHECK(len == HL + 4 * RL);
        uint8_t *bad = malloc(len);
        size_t refused = 0, wrong = 0;
        for (size_t at = 0; at < len; at++) {
            memcpy(bad, good, len);
            bad[at] ^= (uint8_t)(1u << (at % 8));
            spit(p, bad, len, 0600);
            tss_result r;
            if (kind == 0) {
                tss_sid_log *l = NULL;
                r = tss_sid_log_open(&l, &ctx, "k");
                tss_sid_log_close(l);
            } else {
                tss_presig_store *st = NULL;
                r = tss_presig_store_open(&st, &ctx, "k");
                tss_presig_store_close(st);
            }
            if (tss_is_ok(r) || tss_err_exit_code(r.err) != 65 ||
                !strstr(tss_error_detail(), file)) {
                wrong++;
                fprintf(stderr, "  flip at %zu: %s\n", at, tss_error_detail());
                continue;
            }
            refused++;
            /* The record (or the header) is named by number and offset. */
            if (at >= HL) {
                char want[64];
                size_t rec = (at - HL) / RL;
                snprintf(want, sizeof want, "record %zu (byte offset %zu)", rec, HL + rec * RL);
                if (!strstr(tss_error_detail(), want)) wrong++;
            }
        }
        CHECK(refused == len && wrong == 0);
        /* Cuts: inside the header refused; inside or at a record boundary a
         * torn tail (only the final ids lost, never one from the middle). */
        for (size_t cut = 0; cut < len; cut++) {
            spit(p, good, cut, 0600);
            tss_result r;
            size_t count = 0;
            bool all_prefix = true;
            if (kind == 0) {
                tss_sid_log *l = NULL;
                r = tss_sid_log_open(&l, &ctx, "k");
                if (l) {
                    count = tss_sid_log_count(l);
                    for (size_t i = 0; i < count; i++) all_prefix &= tss_sid_log_contains(l, ids[i]);
                }
                tss_sid_log_close(l);
            } else {
                tss_presig_store *st = NULL;
                r = tss_presig_store_open(&st, &ctx, "k");
                if (st)
                    for (size_t i = 0; i < 4; i++) count += tss_presig_store_is_spent(st, ids[i]);
                for (size_t i = 0; st && i < count; i++)
                    all_prefix &= tss_presig_store_is_spent(st, ids[i]);
                tss_presig_store_close(st);
            }
            if (cut < HL) {
                CHECK(r.err == TSS_E_CORRUPT && detail_has(file));
            } else {
                CHECK(tss_is_ok(r) && count == (cut - HL) / RL && all_prefix);
            }
            spit(p, good, len, 0600); /* restore for the next cut */
        }
        free(good);
        free(bad);
    }
}

/* A version-1 log (untagged, 32-byte records) is migrated on open. */
static void v1_log_migrated(void) {
    char state[512], p[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    tss_sid_log *l = NULL;
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k")); /* creates sids/ */
    tss_sid_log_close(l);
    sid_log_path(p, sizeof p, state, "k");
    uint8_t v1[32 + 3 * 32], h2[HL], mk[TSS_SPENT_MAC_KEY_LEN];
    tss_spent_log_mac_key(mk, pkeys[1]->storage_key, TSS_SPENT_SIGN_SID, "k");
    tss_spent_log_header(h2, TSS_SPENT_SIGN_SID, "k", mk);
    memcpy(v1, h2, 32);
    v1[8] = 1;
    for (int i = 0; i < 3; i++) randombytes_buf(v1 + 32 + 32 * i, 32);
    spit(p, v1, sizeof v1 - 5, 0600); /* with a torn tail */
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (!l) return;
    CHECK(tss_sid_log_count(l) == 2 && tss_sid_log_contains(l, v1 + 32) &&
          tss_sid_log_contains(l, v1 + 64));
    uint8_t id[32];
    randombytes_buf(id, 32);
    CHECK_OK(tss_sid_log_claim(l, id));
    tss_sid_log_close(l);
    CHECK(size_of(p) == HL + 3 * RL && mode_of(p) == 0600);
    size_t len;
    uint8_t *now = slurp(p, &len);
    CHECK(now && len == HL + 3 * RL && now[8] == TSS_SPENT_LOG_VERSION);
    free(now);
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    CHECK(l && tss_sid_log_count(l) == 3 && tss_sid_log_contains(l, id));
    tss_sid_log_close(l);
    /* A damaged v1 log is refused, not migrated. */
    memcpy(v1 + 64, v1 + 32, 32);
    spit(p, v1, sizeof v1, 0600);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK(detail_has("repeats an earlier id") && detail_has("k.sids"));
    sodium_memzero(mk, sizeof mk);
}

/* Finding 7: a failed append (here: RLIMIT_FSIZE, which fails writes past
 * the limit like a full disk) leaves the handle unverified; once writes work
 * again the next append re-verifies the file and succeeds, without reopening.
 * The old code answered "restart to recover" forever. */
static void full_disk_recovers(void) {
    char state[512], p[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    tss_sid_log *l = NULL;
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (!l) return;
    uint8_t a[32], b[32], c[32];
    randombytes_buf(a, 32);
    randombytes_buf(b, 32);
    randombytes_buf(c, 32);
    CHECK_OK(tss_sid_log_claim(l, a));
    sid_log_path(p, sizeof p, state, "k");
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);
    /* Room for 20 more bytes only: the next record is written partially. */
    struct rlimit lim = {(rlim_t)(HL + RL + 20), old.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    CHECK_ERR(tss_sid_log_claim(l, b), TSS_E_IO);
    CHECK(detail_has("re-verified on its next use"));
    CHECK(tss_sid_log_contains(l, b)); /* fail closed */
    CHECK_ERR(tss_sid_log_claim(l, c), TSS_E_IO); /* still full */
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    CHECK_ERR(tss_sid_log_claim(l, b), TSS_E_PROTOCOL); /* b stays refused */
    CHECK_ERR(tss_sid_log_claim(l, c), TSS_E_PROTOCOL); /* so does c */
    uint8_t d[32];
    randombytes_buf(d, 32);
    CHECK_OK(tss_sid_log_claim(l, d));
    CHECK(size_of(p) == HL + 2 * RL); /* the partial record was dropped */
    tss_sid_log_close(l);
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    CHECK(l && tss_sid_log_count(l) == 2 && tss_sid_log_contains(l, a) &&
          tss_sid_log_contains(l, d) && tss_sid_log_repaired(l) == 0);
    tss_sid_log_close(l);
}

static void log_cap_enforced(void) {
    char state[512], p[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    ctx.log_max_records = 4;
    tss_sid_log *l = NULL;
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (!l) return;
    uint8_t id[32];
    for (int i = 0; i < 4; i++) {
        randombytes_buf(id, 32);
        CHECK_OK(tss_sid_log_claim(l, id));
    }
    randombytes_buf(id, 32);
    CHECK_ERR(tss_sid_log_claim(l, id), TSS_E_TOO_LARGE);
    CHECK(detail_has("is full"));
    CHECK(!tss_sid_log_contains(l, id));
    tss_sid_log_close(l);
    /* More records on disk than the cap: refused. */
    sid_log_path(p, sizeof p, state, "k");
    uint8_t mk[TSS_SPENT_MAC_KEY_LEN], rec[RL];
    tss_spent_log_mac_key(mk, pkeys[1]->storage_key, TSS_SPENT_SIGN_SID, "k");
    tss_spent_log_record(rec, mk, 4, id);
    append_bytes(p, rec, RL);
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    ctx.log_max_records = 0;
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    CHECK(l && tss_sid_log_count(l) == 5);
    tss_sid_log_close(l);
    sodium_memzero(mk, sizeof mk);
}

/* The pure parser on crafted buffers, and the id set under load. */
static void spent_log_parser_and_set(void) {
    uint8_t mk[TSS_SPENT_MAC_KEY_LEN], buf[HL + 3 * RL + 7], id[32];
    randombytes_buf(mk, sizeof mk);
    tss_spent_log_header(buf, TSS_SPENT_PRESIG, "key", mk);
    for (int i = 0; i < 3; i++) {
        randombytes_buf(id, 32);
        tss_spent_log_record(buf + HL + RL * i, mk, (uint64_t)i, id);
    }
    tss_id_set set;
    tss_spent_log_scan scan;
    for (size_t len = HL; len <= sizeof buf; len++) {
        tss_id_set_init(&set);
        CHECK_OK(tss_spent_log_parse(buf, len, TSS_SPENT_PRESIG, "key", mk, 0, &set, &scan));
        CHECK(scan.records == (len - HL) / RL && scan.valid_len == HL + RL * scan.records &&
              scan.dropped == len - scan.valid_len && set.count == scan.records &&
              scan.version == TSS_SPENT_LOG_VERSION);
        tss_id_set_free(&set);
    }
    tss_id_set_init(&set);
    CHECK_ERR(tss_spent_log_parse(buf, sizeof buf, TSS_SPENT_SIGN_SID, "key", mk, 0, &set, &scan),
              TSS_E_CORRUPT);
    tss_id_set_free(&set);
    tss_id_set_init(&set);
    CHECK_ERR(tss_spent_log_parse(buf, sizeof buf, TSS_SPENT_PRESIG, "key", mk, 2, &set, &scan),
              TSS_E_CORRUPT);
    tss_id_set_free(&set);
    /* Another MAC key (another party, or the other kind's key) fails. */
    mk[0] ^= 1;
    tss_id_set_init(&set);
    CHECK_ERR(tss_spent_log_parse(buf, sizeof buf, TSS_SPENT_PRESIG, "key", mk, 0, &set, &scan),
              TSS_E_CORRUPT);
    tss_id_set_free(&set);
    /* Many ids: all found, no false positives. */
    tss_id_set_init(&set);
    memset(id, 0, sizeof id);
    bool added = false, all = true;
    for (uint32_t i = 1; i <= 20000; i++) {
        memcpy(id, &i, sizeof i);
        all &= tss_is_ok(tss_id_set_add(&set, id, &added)) && added;
    }
    CHECK(all && set.count == 20000);
    for (uint32_t i = 1; i <= 20000; i++) {
        memcpy(id, &i, sizeof i);
        all &= tss_id_set_contains(&set, id);
    }
    CHECK(all);
    memset(id, 0xff, sizeof id);
    CHECK(!tss_id_set_contains(&set, id));
    memcpy(id, &(uint32_t){7}, 4);
    memset(id + 4, 0, 28);
    CHECK_OK(tss_id_set_add(&set, id, &added));
    CHECK(!added && set.count == 20000);
    tss_id_set_free(&set);
}

/* The operator's repair (tss-keystore salvage-log): every readable id kept,
 * the damaged file kept aside, a fresh log that opens. */
static void salvage_damaged_log(void) {
    char state[512], p[700], dir[700];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    tss_sid_log *l = NULL;
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (!l) return;
    uint8_t ids[4][32];
    for (int i = 0; i < 4; i++) {
        randombytes_buf(ids[i], 32);
        CHECK_OK(tss_sid_log_claim(l, ids[i]));
    }
    tss_sid_log_close(l);
    sid_log_path(p, sizeof p, state, "k");
    snprintf(dir, sizeof dir, "%s/sids", state);
    size_t len, authentic = 9, damaged = 9;
    char saved[800];
    /* Clean: nothing to do. */
    CHECK_OK(tss_spent_log_salvage(dir, "k.sids", TSS_SPENT_SIGN_SID, "k",
                                   pkeys[1]->storage_key, &authentic, &damaged, saved,
                                   sizeof saved));
    CHECK(authentic == 4 && damaged == 0 && saved[0] == '\0');
    uint8_t *buf = slurp(p, &len);
    if (!buf) return;
    buf[HL + RL + 40] ^= 1;     /* record 1: tag damaged, id intact */
    buf[HL + 2 * RL + 3] ^= 1;  /* record 2: id damaged */
    spit(p, buf, len + 7, 0600); /* and a torn tail */
    CHECK_ERR(tss_sid_log_open(&l, &ctx, "k"), TSS_E_CORRUPT);
    CHECK_OK(tss_spent_log_salvage(dir, "k.sids", TSS_SPENT_SIGN_SID, "k",
                                   pkeys[1]->storage_key, &authentic, &damaged, saved,
                                   sizeof saved));
    CHECK(authentic == 2 && damaged == 2 && strstr(saved, "k.sids.damaged-") && exists(saved));
    CHECK(size_of(saved) == (long)len + 7);
    CHECK_OK(tss_sid_log_open(&l, &ctx, "k"));
    if (l) {
        uint8_t changed[32];
        memcpy(changed, ids[2], 32);
        changed[3] ^= 1;
        CHECK(tss_sid_log_count(l) == 4 && tss_sid_log_contains(l, ids[0]) &&
              tss_sid_log_contains(l, ids[1]) && tss_sid_log_contains(l, ids[3]) &&
              tss_sid_log_contains(l, changed) && !tss_sid_log_contains(l, ids[2]));
        tss_sid_log_close(l);
    }
    CHECK(mode_of(p) == 0600);
    /* A missing log is not created. */
    CHECK_ERR(tss_spent_log_salvage(dir, "none.sids", TSS_SPENT_SIGN_SID, "none",
                                    pkeys[1]->storage_key, &authentic, &damaged, saved,
                                    sizeof saved),
              TSS_E_NOT_FOUND);
    free(buf);
}

/* ---- key epochs and erasure (issue 17) ----------------------------------------- */

/* Key share format 2 carries the epoch; format 1 (written before epochs)
 * still loads, as epoch 0. */
static void share_epoch_versions(void) {
    tss_writer w;
    tss_writer_init_secret(&w, 1u << 20);
    tss_keyshare *copy = NULL, *back = NULL;
    CHECK_OK(tss_keyshare_encode(k3[0], &w));
    CHECK_OK(tss_keyshare_decode(&copy, w.data, w.len));
    tss_writer_free(&w);
    if (!copy) return;
    CHECK(copy->epoch == 0);
    copy->epoch = 5;
    char state[512];
    tss_store_ctx ctx = make_ctx(state, sizeof state, 1);
    CHECK_OK(tss_share_save(&ctx, copy));
    CHECK_OK(tss_share_load(&ctx, KEY_ID, &back));
    CHECK(back && back->epoch == 5 && shares_equal(back, copy));
    tss_keyshare_free(back);
    back = NULL;
    /* The version-1 bytes of the same share: version byte 1, no trailing epoch. */
    tss_writer_init_secret(&w, 1u << 20);
    CHECK_OK(tss_keyshare_encode(copy, &w));
    CHECK(w.len > 13 && w.data[8] == 2);
    w.data[8] = 1;
    CHECK_OK(tss_keyshare_decode(&back, w.data, w.len - 4));
    CHECK(back && back->epoch == 0);
    tss_keyshare_free(back);
    back = NULL;
    /* A version-1 share with the epoch appended (trailing bytes), a version 3: refused. */
    CHECK(!tss_is_ok(tss_keyshare_decode(&back, w.data, w.len)));
    w.data[8] = 3;
    CHECK_ERR(tss_keyshare_decode(&back, w.data, w.len), TSS_E_UNSUPPORTED);
    CHECK(back == NULL);
    tss_writer_free(&w);
    tss_keyshare_free(copy);
}

/* tss_key_erase: presignatures (files, then spent.log, then the directory)
 * and the share go, durably; another key stays; a re-run is a no-op, and a
 * tombstone left by a crash mid-erasure is finished. */
static void key_erase(void) {
    char state[2][512], p[700];
    tss_store_ctx ctx[2] = {make_ctx(state[0], sizeof state[0], 1),
                            make_ctx(state[1], sizeof state[1], 2)};
    for (int k = 0; k < 2; k++) CHECK_OK(tss_share_save(&ctx[k], k3[k]));
    tss_keyshare *other = NULL;
    tss_writer w;
    tss_writer_init_secret(&w, 1u << 20);
    CHECK_OK(tss_keyshare_encode(k3[0], &w));
    CHECK_OK(tss_keyshare_decode(&other, w.data, w.len));
    tss_writer_free(&w);
    if (!other) return;
    snprintf(other->key_id, sizeof other->key_id, "other");
    CHECK_OK(tss_share_save(&ctx[0], other));
    tss_keyshare_free(other);
    tss_presig_store *st[2];
    open_pair(st, ctx);
    if (!st[0] || !st[1]) return;
    tss_presig *pre[2];
    presign(pre);
    if (!pre[0] || !pre[1]) return;
    for (int k = 0; k < 2; k++) CHECK_OK(tss_presig_store_put(st[k], pre[k]));
    close_pair(st);
    free_pair(pre);
    bool erased = false;
    CHECK_OK(tss_key_erase(&ctx[0], KEY_ID, &erased));
    CHECK(erased);
    path_of(p, sizeof p, state[0], "keys/" KEY_ID ".share");
    CHECK(!exists(p));
    path_of(p, sizeof p, state[0], "presig/" KEY_ID);
    CHECK(!exists(p));
    path_of(p, sizeof p, state[0], "keys/other.share");
    CHECK(exists(p));
    tss_keyshare *ks = NULL;
    CHECK_ERR(tss_share_load(&ctx[0], KEY_ID, &ks), TSS_E_NOT_FOUND);
    tss_key_id_list list;
    CHECK_OK(tss_share_list(&ctx[0], &list));
    CHECK(list.count == 1 && strcmp(list.ids[0], "other") == 0);
    tss_key_id_list_free(&list);
    /* Idempotent. */
    erased = true;
    CHECK_OK(tss_key_erase(&ctx[0], KEY_ID, &erased));
    CHECK(!erased);
    /* A crash after the rename (tombstone) and before the unlink: finished. */
    path_of(p, sizeof p, state[1], "keys/" KEY_ID ".share");
    char tomb[700];
    path_of(tomb, sizeof tomb, state[1], "keys/." KEY_ID ".share.erasing");
    CHECK(rename(p, tomb) == 0);
    CHECK_OK(tss_share_list(&ctx[1], &list)); /* the tombstone is never listed */
    CHECK(list.count == 0);
    tss_key_id_list_free(&list);
    CHECK_OK(tss_key_erase(&ctx[1], KEY_ID, &erased));
    CHECK(erased && !exists(tomb) && !exists(p));
    path_of(p, sizeof p, state[1], "presig/" KEY_ID);
    CHECK(!exists(p));
    /* A key id that names a directory is refused. */
    CHECK_ERR(tss_key_erase(&ctx[0], "..", &erased), TSS_E_INVALID);
}

/* A copy of party 1's share with another epoch (the store does not care
 * where a next-epoch share comes from; mpc/reshare makes the real ones). */
static tss_keyshare *share_at_epoch(uint32_t epoch) {
    tss_writer w;
    tss_writer_init_secret(&w, 1u << 20);
    tss_keyshare *c = NULL;
    CHECK_OK(tss_keyshare_encode(k3[0], &w));
    CHECK_OK(tss_keyshare_decode(&c, w.data, w.len));
    tss_writer_free(&w);
    if (c) c->epoch = epoch;
    return c;
}

static uint32_t committed_epoch_of(const tss_store_ctx *ctx) {
    tss_keyshare *ks = NULL;
    if (!tss_is_ok(tss_share_load(ctx, KEY_ID, &ks))) return UINT32_MAX;
    uint32_t e = ks->epoch;
    tss_keyshare_free(ks);
    return e;
}

/* Epoch commit (share_store.h "Epochs"): the next share waits beside the
 * committed one and is never loaded for signing; commit erases the old
 * epoch's presignatures and share and is idempotent; an interrupted commit
 * is finished by a repeat or undone by a discard; never neither. */
static void epoch_commit(void) {
    char state[2][512], p[700], next[700], old[700];
    tss_store_ctx ctx[2] = {make_ctx(state[0], sizeof state[0], 1),
                            make_ctx(state[1], sizeof state[1], 2)};
    for (int k = 0; k < 2; k++) CHECK_OK(tss_share_save(&ctx[k], k3[k]));
    tss_presig_store *st[2];
    open_pair(st, ctx);
    if (!st[0] || !st[1]) return;
    tss_presig *pre[2];
    presign(pre);
    if (!pre[0] || !pre[1]) return;
    for (int k = 0; k < 2; k++) CHECK_OK(tss_presig_store_put(st[k], pre[k]));
    close_pair(st);
    free_pair(pre);
    tss_keyshare *e1 = share_at_epoch(1), *e2 = share_at_epoch(2), *back = NULL;
    if (!e1 || !e2) return;
    path_of(next, sizeof next, state[0], "keys/" KEY_ID ".next");
    path_of(old, sizeof old, state[0], "keys/." KEY_ID ".share.old");
    CHECK_ERR(tss_share_save_next(&ctx[0], e2), TSS_E_INVALID); /* must be committed + 1 */
    CHECK_ERR(tss_share_save_next(&ctx[1], e1), TSS_E_INVALID); /* party 1's share */
    CHECK_OK(tss_share_save_next(&ctx[0], e1));
    CHECK(mode_of(next) == 0600);
    CHECK(committed_epoch_of(&ctx[0]) == 0); /* signing still uses epoch 0 */
    CHECK_OK(tss_share_load_next(&ctx[0], KEY_ID, &back));
    CHECK(back && back->epoch == 1);
    tss_keyshare_free(back);
    back = NULL;
    tss_key_id_list list;
    CHECK_OK(tss_share_list(&ctx[0], &list));
    CHECK(list.count == 1); /* .next is not a key of its own */
    tss_key_id_list_free(&list);
    CHECK_ERR(tss_share_commit_next(&ctx[0], KEY_ID, 2), TSS_E_PROTOCOL);
    CHECK(committed_epoch_of(&ctx[0]) == 0 && exists(next));
    CHECK_OK(tss_share_commit_next(&ctx[0], KEY_ID, 1));
    CHECK(committed_epoch_of(&ctx[0]) == 1 && !exists(next) && !exists(old));
    path_of(p, sizeof p, state[0], "presig/" KEY_ID);
    CHECK(!exists(p)); /* presignatures of epoch 0 are gone */
    CHECK_OK(tss_share_commit_next(&ctx[0], KEY_ID, 1)); /* repeated: no-op */
    CHECK_ERR(tss_share_commit_next(&ctx[0], KEY_ID, 3), TSS_E_PROTOCOL);
    CHECK_ERR(tss_share_load_next(&ctx[0], KEY_ID, &back), TSS_E_NOT_FOUND);

    /* A commit cut between steps 2 and 3 (share set aside, next not in place). */
    CHECK_OK(tss_share_save_next(&ctx[0], e2));
    char share[700];
    path_of(share, sizeof share, state[0], "keys/" KEY_ID ".share");
    CHECK(rename(share, old) == 0);
    /* ... the coordinator never committed: discard puts epoch 1 back. */
    CHECK_OK(tss_share_discard_next(&ctx[0], KEY_ID));
    CHECK(committed_epoch_of(&ctx[0]) == 1 && !exists(next) && !exists(old));
    CHECK_OK(tss_share_discard_next(&ctx[0], KEY_ID)); /* nothing to discard */
    /* ... or it did: a repeated commit finishes it. */
    CHECK_OK(tss_share_save_next(&ctx[0], e2));
    CHECK(rename(share, old) == 0);
    CHECK_OK(tss_share_commit_next(&ctx[0], KEY_ID, 2));
    CHECK(committed_epoch_of(&ctx[0]) == 2 && !exists(next) && !exists(old));
    /* Cut after step 3 (the old share still set aside): the repeat erases it. */
    tss_keyshare *e3 = share_at_epoch(3);
    if (e3) {
        CHECK_OK(tss_share_save_next(&ctx[0], e3));
        CHECK(link(share, old) == 0); /* as if step 4 had not run */
        CHECK(rename(next, share) == 0);
        CHECK(committed_epoch_of(&ctx[0]) == 3);
        CHECK_OK(tss_share_commit_next(&ctx[0], KEY_ID, 3));
        CHECK(!exists(old) && committed_epoch_of(&ctx[0]) == 3);
        tss_keyshare_free(e3);
    }
    /* Retirement erases an uncommitted next epoch too. */
    tss_keyshare *e4 = share_at_epoch(4);
    if (e4) {
        CHECK_OK(tss_share_save_next(&ctx[0], e4));
        bool erased = false;
        CHECK_OK(tss_key_erase(&ctx[0], KEY_ID, &erased));
        CHECK(erased && !exists(next) && !exists(share));
        tss_keyshare_free(e4);
    }
    /* A party joining the key (no committed share) stores and commits its first epoch. */
    CHECK_OK(tss_share_save_next(&ctx[0], e1));
    CHECK(committed_epoch_of(&ctx[0]) == UINT32_MAX);
    CHECK_OK(tss_share_commit_next(&ctx[0], KEY_ID, 1));
    CHECK(committed_epoch_of(&ctx[0]) == 1);
    tss_keyshare_free(e1);
    tss_keyshare_free(e2);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    harness_tmpdir(tmp_root, sizeof tmp_root);
    for (int i = 1; i <= 3; i++) {
        pkeys[i] = tss_secret_alloc(sizeof *pkeys[i]);
        random_keys(pkeys[i]);
    }
    sim_keygen(3, 2, 91, k3);
    RUN(sealed_storage_key_format);
    RUN(mnemonic_path_refuses_v2);
    RUN(share_round_trip_and_list);
    RUN(share_overwrite_refused);
    RUN(share_tampered_truncated_renamed);
    RUN(bans_persist);
    RUN(share_cache_sees_replacements);
    RUN(ban_state_survives_a_failed_write);
    RUN(permission_problems_named);
    RUN(presig_put_take_consume);
    RUN(crash_between_log_and_unlink);
    RUN(presig_wrong_key_or_party);
    RUN(sid_registry_across_restarts);
    RUN(torn_final_record_tolerated);
    RUN(corrupt_log_refused);
    RUN(every_flip_and_cut_detected);
    RUN(v1_log_migrated);
    RUN(full_disk_recovers);
    RUN(salvage_damaged_log);
    RUN(log_cap_enforced);
    RUN(spent_log_parser_and_set);
    RUN(wire_session_log_survives_restart);
    RUN(share_epoch_versions);
    RUN(key_erase);
    RUN(epoch_commit);
    for (int i = 0; i < 3; i++) tss_keyshare_free(k3[i]);
    for (int i = 1; i <= 3; i++) tss_secret_free(pkeys[i]);
    harness_rmtree(tmp_root);
    return harness_finish("party_store");
}
