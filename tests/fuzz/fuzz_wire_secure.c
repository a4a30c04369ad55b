/* Fuzz the open side of wire/secure: tss_secure_open and
 * tss_secure_verify_signed on arbitrary envelopes, plus a property run where
 * a genuine sealed message is altered in one place and must then be refused.
 *
 * Sessions: parties 1, 2, 3 with fixed identities in one fixed session
 * (a keygen context); fresh for every input (a session remembers what each
 * peer sent, to recognise duplicates); round-1 broadcasts are exchanged so
 * round-2 keys exist.
 *
 * Input byte 0 selects the mode:
 *  - even: raw envelope. Bytes 1..5: round, sender (u16), receiver (u16);
 *    byte 6 bit 0 flips the session id; the rest is the payload, opened by
 *    party 2 and verified as the coordinator would; whatever opens must be
 *    attributed exactly as the envelope says.
 *  - odd: seal then tamper. Byte 1: type index, byte 2: recipient choice,
 *    bytes 3..4: position, byte 5: xor mask (0 = unchanged), byte 6: which
 *    envelope field to change (0 = none); the rest is the plaintext, sealed
 *    by party 1. Unchanged it must open to the same plaintext; changed it
 *    must be refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/bytes.h"
#include "util/secmem.h"
#include "wire/secure.h"

#define NP 3

static tss_secure_session *sess[NP + 1];
static tss_secure_peer roster[NP];
static uint8_t sid[TSS_SECURE_SID_LEN];
static tss_secure_context ctx;

static void die(void) { abort(); }

static void seal(tss_secure_session *s, tss_mpc_msg *m, tss_writer *w, tss_wire_protocol_msg *env) {
    tss_writer_init(w, TSS_SECURE_MAX_SEALED);
    if (!tss_is_ok(tss_secure_seal(s, m, env, w))) die();
}

static void setup(void) {
    if (!tss_is_ok(tss_crypto_init())) die();
    uint8_t sk[NP + 1][64];
    for (unsigned i = 1; i <= NP; i++) {
        uint8_t seed[32];
        memset(seed, (int)(0xa0 + i), sizeof seed);
        crypto_sign_seed_keypair(roster[i - 1].identity, sk[i], seed);
        roster[i - 1].id = (uint16_t)i;
    }
    memset(sid, 0x5a, sizeof sid);
    tss_wire_session_start st;
    memset(&st, 0, sizeof st);
    memcpy(st.session_id, sid, sizeof sid);
    st.kind = TSS_WIRE_KIND_KEYGEN;
    memcpy(st.key_id, "fuzz", 5);
    st.threshold = 2;
    st.count = NP;
    for (uint16_t i = 0; i < NP; i++) st.parties[i] = (uint16_t)(i + 1);
    tss_secure_context_init(&ctx, &st, NULL, 0);
    for (unsigned i = 1; i <= NP; i++)
        if (!tss_is_ok(tss_secure_session_new(&sess[i], &ctx, (uint16_t)i, sk[i], roster, NP)))
            die();
    sodium_memzero(sk, sizeof sk);
    uint8_t d[64] = {0};
    for (unsigned i = 1; i <= NP; i++) {
        tss_mpc_msg m = {.type = 0x11, .from = (uint16_t)i, .to = 0, .data = d, .len = sizeof d};
        tss_writer w;
        tss_wire_protocol_msg env;
        seal(sess[i], &m, &w, &env);
        for (unsigned j = 1; j <= NP; j++) {
            if (j == i) continue;
            tss_mpc_msg out;
            if (!tss_is_ok(tss_secure_open(sess[j], &env, &out))) die();
            tss_secure_msg_clear(&out);
        }
        tss_writer_free(&w);
    }
}

static void open_raw(const tss_wire_protocol_msg *env) {
    tss_mpc_msg out;
    tss_result r = tss_secure_open(sess[2], env, &out);
    tss_secure_signed_view v;
    tss_result rv = tss_secure_verify_signed(&ctx, roster, NP, env, &v);
    if (!tss_is_ok(r)) {
        if (out.data || out.len) die();
        /* A signed message a party refuses although it verifies: only as a
         * protocol matter (its own message, a second ephemeral key) or as a
         * duplicate of a round-1 broadcast exchanged in setup. */
        if (tss_is_ok(rv) && r.err != TSS_E_PROTOCOL && r.err != TSS_E_EXISTS) die();
        return;
    }
    /* Only a genuine message opens (the corpus holds some); it must be
     * attributed and addressed as its envelope says. */
    if (out.from != env->sender || out.type != env->payload[0]) die();
    if (tss_secure_type_round(out.type) != env->round) die();
    bool bcast = tss_secure_type_is_broadcast(out.type);
    if (bcast != (out.to == 0) || bcast != tss_is_ok(rv)) die();
    if (out.len > env->payload_len) die();
    if (bcast && (v.len != out.len || memcmp(v.data, out.data, out.len) != 0)) die();
    tss_secure_msg_clear(&out);
}

static void seal_and_tamper(const uint8_t *p, size_t n) {
    static const uint8_t types[] = {0x11, 0x12, 0x21, 0x22, 0x31, 0x41, 0x42, 0x52, 0x61};
    uint8_t type = types[p[1] % sizeof types];
    bool bcast = tss_secure_type_is_broadcast(type);
    uint16_t to = bcast ? 0 : (uint16_t)(2 + (p[2] & 1));
    size_t pos = (size_t)p[3] << 8 | p[4];
    uint8_t mask = p[5], field = p[6];
    const uint8_t *plain = p + 7;
    size_t len = n - 7;
    if (len > TSS_MPC_MAX_PAYLOAD) return;
    tss_mpc_msg m = {.type = type, .from = 1, .to = to, .data = (uint8_t *)plain, .len = len};
    tss_writer w;
    tss_wire_protocol_msg env;
    seal(sess[1], &m, &w, &env);
    uint16_t rx = to ? to : (uint16_t)(2 + (p[2] & 1));
    bool changed = false;
    if (mask && pos < env.payload_len) {
        w.data[(env.payload - w.data) + pos] ^= mask;
        changed = true;
    }
    switch (field % 6) {
    case 1: env.session_id[field % TSS_SECURE_SID_LEN] ^= 1, changed = true; break;
    case 2: env.round ^= (uint8_t)(1 + (field >> 4)), changed = true; break;
    case 3: env.sender = (uint16_t)(field >> 3), changed |= env.sender != 1; break;
    case 4: env.receiver = (uint16_t)(field >> 5), changed |= env.receiver != to; break;
    case 5: if (env.payload_len > 1) env.payload_len -= 1 + (field >> 3) % env.payload_len, changed = true; break;
    default: break;
    }
    tss_mpc_msg out;
    tss_result r = tss_secure_open(sess[rx], &env, &out);
    if (changed) {
        /* A receiver change to the other party may still be "ours" for a
         * broadcast only if it stayed 0; everything else must be refused. */
        if (tss_is_ok(r)) die();
        if (r.err != TSS_E_PROTOCOL) die();
        if (out.data || out.len) die();
    } else if (type == 0x11) {
        /* Party 1 gave its 0x11 (64 zero bytes) in setup: the same again is a
         * duplicate, anything else its own equivocation. */
        static const uint8_t zero[64];
        bool same = len == sizeof zero && memcmp(plain, zero, len) == 0;
        if (r.err != (same ? TSS_E_EXISTS : TSS_E_PROTOCOL) || out.data) die();
    } else {
        if (!tss_is_ok(r)) die();
        if (out.type != type || out.from != 1 || out.to != to || out.len != len) die();
        if (len && memcmp(out.data, plain, len) != 0) die();
        tss_secure_msg_clear(&out);
        if (bcast) {
            tss_secure_signed_view v;
            if (!tss_is_ok(tss_secure_verify_signed(&ctx, roster, NP, &env, &v))) die();
            if (v.len != len || (len && memcmp(v.data, plain, len) != 0)) die();
        }
    }
    tss_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 7) return 0;
    for (unsigned i = 1; i <= NP; i++) tss_secure_session_free(sess[i]), sess[i] = NULL;
    setup();
    if (data[0] & 1) {
        seal_and_tamper(data, size);
        return 0;
    }
    tss_wire_protocol_msg env;
    memcpy(env.session_id, sid, sizeof sid);
    if (data[6] & 1) env.session_id[0] ^= 0x80;
    env.round = data[1];
    env.sender = (uint16_t)(data[2] << 8 | data[3]);
    env.receiver = (uint16_t)(data[4] << 8 | data[5]);
    env.payload = data + 7;
    env.payload_len = size - 7;
    open_raw(&env);
    return 0;
}
