/* Threshold protocol benchmarks, in process: every party's state machine in
 * one thread, messages passed directly. Per-party figures are the thread's
 * CPU time of the whole run divided by the number of parties (N for keygen,
 * t for signing); bytes per peer are the payload bytes one party sends to one
 * peer (broadcasts counted once per recipient). The baseline is a plain
 * libsecp256k1 ecdsa_sign measured in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <sodium.h>

#include "bench/bench.h"
#include "mpc/dkg.h"
#include "mpc/reshare.h"
#include "mpc/sign.h"

typedef struct {
    size_t n;
    uint16_t ids[TSS_MPC_MAX_PARTIES];
    void *party[TSS_MPC_MAX_PARTIES];
    tss_result (*handle)(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out);
    size_t bytes_sent; /* all parties, all recipients */
    tss_mpc_outbox finals; /* messages addressed to nobody among the parties */
    bool failed;
} net;

static void deliver_all(net *nt, tss_mpc_outbox *pending) {
    tss_mpc_outbox next;
    while (pending->count && !nt->failed) {
        tss_mpc_outbox_init(&next);
        for (size_t i = 0; i < pending->count && !nt->failed; i++) {
            tss_mpc_msg *m = &pending->msgs[i];
            if (m->type == TSS_MSG_SIGN_FINAL_BCAST) {
                tss_writer w;
                tss_writer_init(&w, TSS_MPC_MAX_PAYLOAD);
                tss_write_bytes(&w, m->data, m->len);
                if (!tss_is_ok(tss_mpc_outbox_push(&nt->finals, m->type, m->from, m->to, &w)))
                    nt->failed = true;
                continue;
            }
            for (size_t k = 0; k < nt->n; k++) {
                uint16_t id = nt->ids[k];
                if (id == m->from || (m->to && m->to != id)) continue;
                nt->bytes_sent += m->len;
                tss_result hr = nt->handle(nt->party[k], m, &next);
                if (!tss_is_ok(hr)) {
                    fprintf(stderr, "tss-bench: party %u: %s\n", id, tss_error_detail());
                    nt->failed = true;
                }
            }
        }
        tss_mpc_outbox_clear(pending);
        *pending = next;
    }
    tss_mpc_outbox_clear(pending);
}

static tss_result dkg_handle(void *p, const tss_mpc_msg *m, tss_mpc_outbox *o) {
    return tss_dkg_handle(p, m, o);
}
static tss_result reshare_handle(void *p, const tss_mpc_msg *m, tss_mpc_outbox *o) {
    return tss_reshare_handle(p, m, o);
}
static tss_result sign_handle(void *p, const tss_mpc_msg *m, tss_mpc_outbox *o) {
    return tss_sign_handle(p, m, o);
}

/* One keygen; shares out. Returns CPU seconds, or -1 on failure. */
static double keygen(size_t n, uint16_t t, tss_keyshare **shares, size_t *bytes) {
    net nt = {.n = n, .handle = dkg_handle};
    tss_mpc_outbox_init(&nt.finals);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    uint8_t session_id[TSS_SID_BYTES];
    randombytes_buf(session_id, sizeof session_id);
    double t0 = bench_cpu_seconds();
    for (size_t i = 0; i < n; i++) {
        tss_dkg_config c = {.self = (uint16_t)(i + 1), .threshold = t, .n = (uint16_t)n};
        for (size_t k = 0; k < n; k++) c.parties[k] = (uint16_t)(k + 1);
        snprintf(c.key_id, sizeof c.key_id, "bench");
        memcpy(c.session_id, session_id, sizeof session_id);
        nt.ids[i] = c.self;
        if (!tss_is_ok(tss_dkg_new((tss_dkg **)&nt.party[i], &c)) ||
            !tss_is_ok(tss_dkg_start(nt.party[i], &out)))
            return -1;
    }
    deliver_all(&nt, &out);
    double cpu = bench_cpu_seconds() - t0;
    bool ok = !nt.failed;
    for (size_t i = 0; i < n; i++) {
        if (ok && (!tss_dkg_finished(nt.party[i]) ||
                   !tss_is_ok(tss_dkg_take_share(nt.party[i], &shares[i]))))
            ok = false;
        tss_dkg_free(nt.party[i]);
    }
    *bytes = nt.bytes_sent;
    tss_mpc_outbox_clear(&nt.finals);
    return ok ? cpu : -1;
}

/* One refresh (replace_last false: dealers 1..t, same committee) or reshare
 * replacing party n by the new party n+1 (dealers 1..t, new committee
 * 1..n-1, n+1, same t) of the keygen's shares; CPU seconds per participant,
 * or -1 on failure (every new share must also have the same X). */
static double reshare_once(tss_keyshare **shares, size_t n, uint16_t t, bool replace_last) {
    net nt = {.handle = reshare_handle};
    tss_mpc_outbox_init(&nt.finals);
    tss_mpc_outbox out;
    tss_mpc_outbox_init(&out);
    uint8_t session_id[TSS_SID_BYTES];
    randombytes_buf(session_id, sizeof session_id);
    uint16_t dealers[TSS_MPC_MAX_PARTIES], parties[TSS_MPC_MAX_PARTIES];
    for (uint16_t k = 0; k < t; k++) dealers[k] = (uint16_t)(k + 1);
    for (size_t k = 0; k < n; k++) parties[k] = (uint16_t)(k + 1);
    if (replace_last) parties[n - 1] = (uint16_t)(n + 1);
    bool ok = true;
    double t0 = bench_cpu_seconds();
    for (uint16_t id = 1; id <= n + 1 && ok; id++) {
        bool dealer = id <= t, member = false;
        for (size_t k = 0; k < n; k++) member |= parties[k] == id;
        if (!dealer && !member) continue;
        size_t i = nt.n;
        tss_reshare_config c = {.self = id, .X = shares[0]->X, .old_threshold = t,
                                .new_threshold = t, .new_n = (uint16_t)n};
        snprintf(c.key_id, sizeof c.key_id, "%s", shares[0]->key_id);
        memcpy(c.session_id, session_id, sizeof session_id);
        memcpy(c.dealers, dealers, sizeof dealers);
        memcpy(c.new_parties, parties, sizeof parties);
        c.old_share = id <= n ? shares[id - 1] : NULL;
        nt.ids[nt.n++] = id;
        ok = tss_is_ok(tss_reshare_new((tss_reshare **)&nt.party[i], &c)) &&
             tss_is_ok(tss_reshare_start(nt.party[i], &out));
    }
    if (ok) deliver_all(&nt, &out);
    tss_mpc_outbox_clear(&out);
    double cpu = bench_cpu_seconds() - t0;
    ok &= !nt.failed;
    for (size_t i = 0; i < nt.n; i++) {
        tss_keyshare *ks = NULL;
        ok &= nt.party[i] && tss_reshare_finished(nt.party[i]);
        if (ok && tss_reshare_is_new_party(nt.party[i])) {
            ok = tss_is_ok(tss_reshare_take_share(nt.party[i], &ks)) &&
                 tss_pt_eq(&ks->X, &shares[0]->X);
            tss_keyshare_free(ks);
        }
        tss_reshare_free(nt.party[i]);
    }
    tss_mpc_outbox_clear(&nt.finals);
    return ok ? cpu / (double)nt.n : -1;
}

static tss_result claim_any(void *ctx, const uint8_t sid[TSS_SID_BYTES]) {
    (void)ctx, (void)sid;
    return TSS_OK_RESULT; /* every bench session has a fresh random session id */
}
static tss_result consume_any(void *ctx, const uint8_t id[TSS_SID_BYTES]) {
    (void)ctx, (void)id;
    return TSS_OK_RESULT;
}

typedef struct {
    double full, presign, online; /* CPU seconds for all signers */
    double derived;               /* full signing under a BIP-32 path (depth 5) */
    size_t bytes;
    bool ok;
} sign_times;

/* Full signing, presign+online, and full signing under a derivation path
 * (m/44/60/0/0/N, as wallets use), all verified (the derived one against the
 * child key). Each party derives the tweak itself in tss_sign_new, inside the
 * timed region. */
static sign_times sign_once(tss_keyshare **shares, uint16_t t, int run) {
    sign_times st = {.ok = true};
    uint16_t signers[TSS_MPC_MAX_PARTIES];
    for (uint16_t k = 0; k < t; k++) signers[k] = (uint16_t)(k + 1);
    uint8_t digest[32];
    randombytes_buf(digest, sizeof digest);
    tss_bip32_path path = {.depth = 5, .index = {44, 60, 0, 0, randombytes_uniform(1u << 31)}};
    /* Steady state of a wallet back-end: the account prefix m/44/60/0/0 has
     * signed before (each party memoises it at its first signature under
     * it; that first, cold derivation is reported as cold_us). The address
     * index itself is new, so one CKDpub step per party stays in the timing. */
    tss_bip32_path warm = path;
    warm.index[4] ^= 1;
    tss_point ignored;
    if (!tss_is_ok(tss_sign_child_key(&ignored, NULL, shares[0], &warm))) st.ok = false;
    /* Odd runs measure derived signing before plain signing, so that warm-up
     * and drift on a shared machine do not favour either in the medians. */
    for (int step = 0; step < 3; step++) {
        int mode = run % 2 ? 2 - step : step;
        net nt = {.n = t, .handle = sign_handle};
        tss_mpc_outbox_init(&nt.finals);
        tss_mpc_outbox out;
        tss_mpc_outbox_init(&out);
        uint8_t session_id[TSS_SID_BYTES]; /* the coordinator's: one per session */
        randombytes_buf(session_id, sizeof session_id);
        double t0 = bench_cpu_seconds();
        for (uint16_t k = 0; k < t; k++) {
            tss_sign_config c = {.share = shares[k], .count = t};
            memcpy(c.signers, signers, sizeof signers);
            memcpy(c.session_id, session_id, sizeof session_id);
            c.registry = (tss_sid_registry){claim_any, NULL};
            c.consume = (tss_consume_hook){consume_any, NULL};
            c.has_digest = mode != 1;
            memcpy(c.digest, digest, 32);
            if (mode == 2) c.path = path;
            nt.ids[k] = signers[k];
            if (!tss_is_ok(tss_sign_new((tss_sign **)&nt.party[k], &c)) ||
                !tss_is_ok(tss_sign_start(nt.party[k], &out)))
                st.ok = false;
        }
        deliver_all(&nt, &out);
        double cpu = bench_cpu_seconds() - t0;
        if (mode == 0) {
            st.full = cpu;
            st.bytes = nt.bytes_sent;
        } else if (mode == 2) {
            st.derived = cpu;
        } else {
            st.presign = cpu;
            tss_mpc_outbox finals;
            tss_mpc_outbox_init(&finals);
            double t1 = bench_cpu_seconds();
            for (uint16_t k = 0; k < t && st.ok; k++) {
                tss_presig *p = NULL;
                tss_consume_hook h = {consume_any, NULL};
                if (!tss_is_ok(tss_sign_take_presig(nt.party[k], &p)) ||
                    !tss_is_ok(tss_presig_finish(p, shares[k], signers, t, digest, &h, &finals)))
                    st.ok = false;
                tss_presig_free(p);
            }
            st.online = bench_cpu_seconds() - t1;
            tss_mpc_outbox_clear(&nt.finals);
            nt.finals = finals;
        }
        /* Verify the assembled signature (assemble verifies against X). */
        tss_sign_partial partials[TSS_MPC_MAX_PARTIES];
        tss_signature sig;
        st.ok &= !nt.failed && nt.finals.count == t;
        for (size_t i = 0; st.ok && i < nt.finals.count; i++)
            st.ok &= tss_is_ok(tss_sign_partial_decode(&partials[i], nt.finals.msgs[i].from,
                                                       nt.finals.msgs[i].data,
                                                       nt.finals.msgs[i].len));
        tss_point key = shares[0]->X;
        if (mode == 2) st.ok = st.ok && tss_is_ok(tss_sign_child_key(&key, NULL, shares[0], &path));
        st.ok = st.ok && tss_is_ok(tss_sign_assemble(partials, t, &key, digest, &sig));
        tss_mpc_outbox_clear(&nt.finals);
        for (uint16_t k = 0; k < t; k++) tss_sign_free(nt.party[k]);
    }
    return st;
}

/* For other suites (bench/policy.c): one keygen (n, t), then runs full
 * signatures by parties 1..t as above (verified); ms_per_party[r] is the CPU
 * time of run r's plain full signature divided by t. False on any failure. */
bool bench_mpc_sign_samples(size_t n, uint16_t t, int runs, double *ms_per_party) {
    tss_keyshare *shares[TSS_MPC_MAX_PARTIES] = {0};
    size_t bytes;
    if (keygen(n, t, shares, &bytes) < 0) return false;
    bool ok = true;
    for (int r = 0; r < runs && ok; r++) {
        sign_times st = sign_once(shares, t, r);
        ok = st.ok;
        ms_per_party[r] = st.full * 1e3 / t;
    }
    for (size_t i = 0; i < n; i++) tss_keyshare_free(shares[i]);
    return ok;
}

/* Median microseconds of a plain libsecp256k1 signature. */
static double secp256k1_sign_us(void) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN);
    uint8_t key[32], msg[32];
    randombytes_buf(key, 32);
    key[0] &= 0x7f;
    double samples[21];
    for (int r = 0; r < 21; r++) {
        secp256k1_ecdsa_signature sig;
        double t0 = bench_cpu_seconds();
        for (int i = 0; i < 200; i++) {
            msg[0] = (uint8_t)i;
            if (!secp256k1_ecdsa_sign(ctx, &sig, msg, key, NULL, NULL)) abort();
        }
        samples[r] = (bench_cpu_seconds() - t0) * 1e6 / 200;
    }
    secp256k1_context_destroy(ctx);
    return bench_median(samples, 21);
}

/* Median microseconds of one signer's derivation work for a new address
 * m/44/60/0/0/N (tss_sign_child_key, the account prefix memoised: one
 * CKDpub step), the extra cost of derived signing per party; *cold: the
 * same path from the root (5 steps, nothing memoised). */
static double derive_us(const tss_keyshare *share, double *cold) {
    double samples[21];
    tss_bip32_node root, node;
    tss_bip32_root(&root, &share->X, share->chain_code);
    for (int r = 0; r < 21; r++) {
        tss_bip32_path p = {.depth = 5, .index = {44, 60, 0, 0, 0}};
        double t0 = bench_cpu_seconds();
        for (int i = 0; i < 20; i++) {
            p.index[2] = (uint32_t)(r * 20 + i);
            if (!tss_is_ok(tss_bip32_derive(&node, NULL, &root, &p))) abort();
        }
        samples[r] = (bench_cpu_seconds() - t0) * 1e6 / 20;
    }
    *cold = bench_median(samples, 21);
    tss_bip32_path path = {.depth = 5, .index = {44, 60, 0, 0, 0}};
    for (int r = 0; r < 21; r++) {
        double t0 = bench_cpu_seconds();
        for (int i = 0; i < 50; i++) {
            tss_point child;
            path.index[4] = (uint32_t)(r * 50 + i);
            if (!tss_is_ok(tss_sign_child_key(&child, NULL, share, &path))) abort();
        }
        samples[r] = (bench_cpu_seconds() - t0) * 1e6 / 50;
    }
    return bench_median(samples, 21);
}

int bench_mpc(const bench_options *o) {
    double base_us = secp256k1_sign_us();
    if (o->json)
        printf("\"secp256k1_sign_us\":%.2f,\"cases\":[", base_us);
    else
        printf("plain libsecp256k1 ecdsa_sign: %.2f us (median)\n\n%-6s %12s %14s %10s %12s %12s "
               "%10s %8s %12s %9s %10s %10s %12s %12s\n",
               base_us, "case", "keygen_ms/p", "keygen_B/peer", "sign_ms/p", "presign_ms/p",
               "online_ms/p", "sign_B/peer", "ratio", "derived_ms/p", "hd_over%", "derive_us", "cold_us", "refresh_ms/p",
               "reshare_ms/p");
    int rc = 0;
    for (size_t c = 0; c < o->ncases; c++) {
        size_t n = o->cases[c].n;
        uint16_t t = (uint16_t)o->cases[c].t;
        double kg[BENCH_MAX_RUNS], sf[BENCH_MAX_RUNS], sp[BENCH_MAX_RUNS], so[BENCH_MAX_RUNS],
            sd[BENCH_MAX_RUNS], rf[BENCH_MAX_RUNS], rs[BENCH_MAX_RUNS];
        size_t kg_bytes = 0, sign_bytes = 0;
        double hd_us = 0, hd_cold_us = 0;
        for (int r = 0; r < o->runs; r++) {
            tss_keyshare *shares[TSS_MPC_MAX_PARTIES] = {0};
            double cpu = keygen(n, t, shares, &kg_bytes);
            if (cpu < 0) {
                fprintf(stderr, "tss-bench: keygen %zux%u failed\n", n, t);
                return 1;
            }
            kg[r] = cpu * 1e3 / (double)n;
            sign_times st = sign_once(shares, t, r);
            if (r == 0) hd_us = derive_us(shares[0], &hd_cold_us);
            if (!st.ok) {
                fprintf(stderr, "tss-bench: a benchmarked signature (%zux%u) failed to verify\n", n, t);
                rc = 1;
            }
            sf[r] = st.full * 1e3 / t;
            sp[r] = st.presign * 1e3 / t;
            so[r] = st.online * 1e3 / t;
            sd[r] = st.derived * 1e3 / t;
            double rcpu = reshare_once(shares, n, t, false), scpu = reshare_once(shares, n, t, true);
            if (rcpu < 0 || scpu < 0) {
                fprintf(stderr, "tss-bench: refresh or reshare %zux%u failed\n", n, t);
                rc = 1;
            }
            rf[r] = rcpu * 1e3;
            rs[r] = scpu * 1e3;
            sign_bytes = st.bytes;
            for (size_t i = 0; i < n; i++) tss_keyshare_free(shares[i]);
        }
        double kgm = bench_median(kg, (size_t)o->runs), sfm = bench_median(sf, (size_t)o->runs),
               spm = bench_median(sp, (size_t)o->runs), som = bench_median(so, (size_t)o->runs),
               sdm = bench_median(sd, (size_t)o->runs), rfm = bench_median(rf, (size_t)o->runs),
               rsm = bench_median(rs, (size_t)o->runs);
        double hd_over = sfm > 0 ? (sdm - sfm) * 100.0 / sfm : 0;
        size_t kg_per_peer = kg_bytes / (n * (n - 1)), sign_per_peer = sign_bytes / ((size_t)t * (t - 1));
        double ratio = sfm * 1000.0 / base_us;
        if (o->json)
            printf("%s{\"n\":%zu,\"t\":%u,\"runs\":%d,\"keygen_ms_per_party\":%.2f,"
                   "\"keygen_bytes_per_peer\":%zu,\"sign_ms_per_party\":%.3f,"
                   "\"presign_ms_per_party\":%.3f,\"online_ms_per_party\":%.4f,"
                   "\"sign_bytes_per_peer\":%zu,\"sign_ratio_vs_secp256k1\":%.1f,"
                   "\"derived_sign_ms_per_party\":%.3f,\"derived_overhead_pct\":%.2f,"
                   "\"derive_new_address_us\":%.1f,\"derive_cold_depth5_us\":%.1f,"
                   "\"derive_share_of_sign_pct\":%.2f,\"refresh_ms_per_party\":%.2f,"
                   "\"reshare_ms_per_party\":%.2f}",
                   c ? "," : "", n, t, o->runs, kgm, kg_per_peer, sfm, spm, som, sign_per_peer, ratio,
                   sdm, hd_over, hd_us, hd_cold_us, hd_us / (sfm * 10.0), rfm, rsm);
        else
            printf("%zux%-4u %12.2f %14zu %10.3f %12.3f %12.4f %10zu %8.1f %12.3f %9.2f %10.1f %10.1f "
                   "%12.2f %12.2f\n",
                   n, t, kgm, kg_per_peer, sfm, spm, som, sign_per_peer, ratio, sdm, hd_over, hd_us,
                   hd_cold_us, rfm, rsm);
    }
    if (o->json) printf("]");
    return rc;
}
