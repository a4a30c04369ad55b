/* eth/: Keccak-256, addresses (EIP-55), EIP-191, signature helpers, u256 text.
 * Known answers from eth-vectors.json (made with ethers) and EIP-55 itself. */
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include "eth/address.h"
#include "eth/eip191.h"
#include "eth/keccak.h"
#include "eth/sig.h"
#include "eth/u256.h"
#include "tests/unit/harness.h"
#include "tests/unit/json_lite.h"
#include "util/hex.h"
#include "util/secmem.h"

static json_value *vectors;
static secp256k1_context *sign_ctx;

static const json_value *section(const char *name) {
    const json_value *s = json_get(vectors, name);
    if (!s || s->type != JSON_ARRAY || s->count == 0) {
        fprintf(stderr, "eth-vectors.json: missing section %s\n", name);
        exit(2);
    }
    return s;
}

static void hex32(uint8_t out[32], const char *hex) {
    if (!hex || !tss_is_ok(tss_hex_decode(out, 32, hex, "vector"))) abort();
}

static void keccak_vectors(void) {
    const json_value *s = section("keccak256");
    size_t checked = 0;
    for (size_t i = 0; i < s->count; i++) {
        const json_value *v = s->items[i];
        const char *in = json_str(v, "input_utf8");
        uint8_t want[32], got[32], sha[32];
        hex32(want, json_str(v, "keccak256"));
        CHECK_OK(tss_keccak256(got, in, strlen(in)));
        CHECK(memcmp(got, want, 32) == 0);
        /* The file's SHA-256 column proves the input was read as the vector meant. */
        hex32(want, json_str(v, "sha256"));
        crypto_hash_sha256(sha, (const uint8_t *)in, strlen(in));
        CHECK(memcmp(sha, want, 32) == 0);
        /* Chunked hashing equals one-shot at every split point. */
        for (size_t cut = 0; cut <= strlen(in); cut++) {
            tss_keccak_chunk parts[3] = {{in, cut}, {NULL, 0}, {in + cut, strlen(in) - cut}};
            uint8_t h[32];
            CHECK_OK(tss_keccak256_chunks(h, parts, 3));
            CHECK(memcmp(h, got, 32) == 0);
        }
        checked++;
    }
    CHECK(checked == 4);
}

static void keccak_is_not_sha3(void) {
    /* SHA3-256("") = a7ffc6f8...; a missing Keccak flag would produce it. */
    uint8_t sha3_empty[32], got[32];
    hex32(sha3_empty, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    CHECK_OK(tss_keccak256(got, "", 0));
    CHECK(memcmp(got, sha3_empty, 32) != 0);
    /* Across the 136-byte rate boundary. */
    uint8_t buf[300];
    memset(buf, 'a', sizeof buf);
    uint8_t one[32];
    CHECK_OK(tss_keccak256(one, buf, sizeof buf));
    tss_keccak_chunk parts[2] = {{buf, 136}, {buf + 136, sizeof buf - 136}};
    CHECK_OK(tss_keccak256_chunks(got, parts, 2));
    CHECK(memcmp(one, got, 32) == 0);
}

static void account_vectors(void) {
    const json_value *s = section("accounts");
    for (size_t i = 0; i < s->count; i++) {
        const json_value *v = s->items[i];
        uint8_t sk[32], unc[65], cmp[33], a1[20], a2[20];
        hex32(sk, json_str(v, "private_key"));
        CHECK_OK(tss_hex_decode(unc, 65, json_str(v, "public_key_uncompressed"), "pub"));
        CHECK_OK(tss_hex_decode(cmp, 33, json_str(v, "public_key_compressed"), "pub"));
        const char *addr_text = json_str(v, "address");

        /* The vector's keys belong to its private key. */
        secp256k1_pubkey pk;
        CHECK(secp256k1_ec_pubkey_create(sign_ctx, &pk, sk));
        uint8_t ser[65];
        size_t n = 65;
        CHECK(secp256k1_ec_pubkey_serialize(sign_ctx, ser, &n, &pk, SECP256K1_EC_UNCOMPRESSED));
        CHECK(memcmp(ser, unc, 65) == 0);
        n = 33;
        CHECK(secp256k1_ec_pubkey_serialize(sign_ctx, ser, &n, &pk, SECP256K1_EC_COMPRESSED));
        CHECK(memcmp(ser, cmp, 33) == 0);

        CHECK_OK(tss_eth_address_from_pubkey(a1, unc, 65));
        CHECK_OK(tss_eth_address_from_pubkey(a2, cmp, 33));
        CHECK(memcmp(a1, a2, 20) == 0);
        char text[TSS_ETH_ADDRESS_STR_SIZE];
        CHECK_OK(tss_eth_address_to_string(text, a1));
        CHECK(strcmp(text, addr_text) == 0);

        uint8_t parsed[20];
        bool checksummed = false;
        CHECK_OK(tss_eth_address_parse(parsed, addr_text, &checksummed));
        CHECK(checksummed);
        CHECK(memcmp(parsed, a1, 20) == 0);

        /* All-lower and all-upper carry no checksum and are accepted. */
        char lower[43], upper[43];
        strcpy(lower, addr_text);
        strcpy(upper, addr_text);
        for (size_t k = 2; k < 42; k++) {
            if (lower[k] >= 'A' && lower[k] <= 'F') lower[k] = (char)(lower[k] - 'A' + 'a');
            if (upper[k] >= 'a' && upper[k] <= 'f') upper[k] = (char)(upper[k] - 'a' + 'A');
        }
        CHECK_OK(tss_eth_address_parse(parsed, lower, &checksummed));
        CHECK(!checksummed && memcmp(parsed, a1, 20) == 0);
        CHECK_OK(tss_eth_address_parse(parsed, upper, &checksummed));
        CHECK(!checksummed && memcmp(parsed, a1, 20) == 0);

        /* Flipping the case of any one letter breaks the checksum (as long as the
         * result is still mixed case). */
        for (size_t k = 2; k < 42; k++) {
            char bad[43];
            strcpy(bad, addr_text);
            char c = bad[k];
            if (c >= 'a' && c <= 'f')
                bad[k] = (char)(c - 'a' + 'A');
            else if (c >= 'A' && c <= 'F')
                bad[k] = (char)(c - 'A' + 'a');
            else
                continue;
            if (!strcmp(bad, lower) || !strcmp(bad, upper)) continue;
            memset(parsed, 0x5a, 20);
            CHECK_ERR(tss_eth_address_parse(parsed, bad, NULL), TSS_E_INVALID);
            CHECK(strstr(tss_error_detail(), "checksum") != NULL);
            CHECK(parsed[0] == 0x5a); /* untouched on failure */
        }
    }
    CHECK(s->count == 3);
}

static void eip55_spec_examples(void) {
    /* The examples listed in EIP-55 (all caps / all lower / mixed). */
    static const char *examples[] = {
        "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    };
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        uint8_t a[20];
        char text[TSS_ETH_ADDRESS_STR_SIZE];
        CHECK_OK(tss_eth_address_parse(a, examples[i], NULL));
        CHECK_OK(tss_eth_address_to_string(text, a));
        CHECK(strcmp(text, examples[i]) == 0);
    }
}

static void address_rejects_bad_input(void) {
    uint8_t a[20];
    CHECK_ERR(tss_eth_address_parse(a, "", NULL), TSS_E_INVALID);
    CHECK_ERR(tss_eth_address_parse(a, "9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F", NULL),
              TSS_E_INVALID); /* no 0x */
    CHECK_ERR(tss_eth_address_parse(a, "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4", NULL),
              TSS_E_INVALID); /* 39 digits */
    CHECK_ERR(tss_eth_address_parse(a, "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f0", NULL),
              TSS_E_INVALID); /* 41 digits */
    CHECK_ERR(tss_eth_address_parse(a, "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4g", NULL),
              TSS_E_INVALID);
    CHECK_ERR(tss_eth_address_parse(a, "0X9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f", NULL),
              TSS_E_INVALID);
    CHECK_ERR(tss_eth_address_parse(a, "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4f", NULL),
              TSS_E_INVALID); /* last letter's case wrong */

    uint8_t pub[65];
    CHECK_OK(tss_hex_decode(pub, 65,
                            "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483a"
                            "da7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
                            "pub"));
    CHECK_OK(tss_eth_address_from_pubkey(a, pub, 65));
    CHECK_ERR(tss_eth_address_from_pubkey(a, pub + 1, 64), TSS_E_INVALID); /* raw X||Y */
    pub[0] = 0x06; /* hybrid form (y even): libsecp256k1 would parse it */
    CHECK_ERR(tss_eth_address_from_pubkey(a, pub, 65), TSS_E_INVALID);
    pub[0] = 0x04;
    pub[64] ^= 1; /* off the curve */
    CHECK_ERR(tss_eth_address_from_pubkey(a, pub, 65), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "not a point") != NULL);
    pub[1] = 0x05;
    CHECK_ERR(tss_eth_address_from_pubkey(a, pub, 33), TSS_E_INVALID); /* 0x04 prefix, 33 bytes */
}

static void eip191_vectors(void) {
    const json_value *s = section("eip191");
    for (size_t i = 0; i < s->count; i++) {
        const json_value *v = s->items[i];
        const char *m = json_str(v, "message_utf8");
        uint8_t want[32], got[32];
        hex32(want, json_str(v, "digest"));
        CHECK_OK(tss_eip191_digest(got, (const uint8_t *)m, strlen(m)));
        CHECK(memcmp(got, want, 32) == 0);
    }
    CHECK(s->count == 3);
}

/* Sign with libsecp256k1 (RFC6979) as the reference signer. */
static tss_eth_sig reference_sign(const uint8_t digest[32], const uint8_t sk[32]) {
    secp256k1_ecdsa_recoverable_signature rs;
    tss_eth_sig sig;
    uint8_t c[64];
    if (!secp256k1_ecdsa_sign_recoverable(sign_ctx, &rs, digest, sk, NULL, NULL)) abort();
    secp256k1_ecdsa_recoverable_signature_serialize_compact(sign_ctx, c, &sig.recid, &rs);
    memcpy(sig.r, c, 32);
    memcpy(sig.s, c + 32, 32);
    return sig;
}

/* s -> n - s, done as a scalar negation. */
static void negate_s(tss_eth_sig *sig) {
    if (!secp256k1_ec_seckey_negate(sign_ctx, sig->s)) abort();
}

static void signatures_verify_recover_and_encode(void) {
    const json_value *accounts = section("accounts");
    const json_value *msgs = section("eip191");
    for (size_t i = 0; i < accounts->count; i++) {
        const json_value *acct = accounts->items[i];
        uint8_t sk[32], pub[65], cpub[33], addr[20];
        hex32(sk, json_str(acct, "private_key"));
        CHECK_OK(tss_hex_decode(pub, 65, json_str(acct, "public_key_uncompressed"), "pub"));
        CHECK_OK(tss_hex_decode(cpub, 33, json_str(acct, "public_key_compressed"), "pub"));
        CHECK_OK(tss_eth_address_parse(addr, json_str(acct, "address"), NULL));
        for (size_t j = 0; j < msgs->count; j++) {
            const char *m = json_str(msgs->items[j], "message_utf8");
            uint8_t digest[32];
            CHECK_OK(tss_eip191_digest(digest, (const uint8_t *)m, strlen(m)));
            tss_eth_sig sig = reference_sign(digest, sk);
            CHECK_OK(tss_eth_sig_check(&sig)); /* libsecp256k1 signs low-s */
            CHECK_OK(tss_eth_sig_verify(digest, &sig, pub, 65));
            CHECK_OK(tss_eth_sig_verify(digest, &sig, cpub, 33));
            uint8_t rec[65], raddr[20];
            CHECK_OK(tss_eth_sig_recover(digest, &sig, rec));
            CHECK(memcmp(rec, pub, 65) == 0);
            CHECK_OK(tss_eth_sig_recover_address(digest, &sig, raddr));
            CHECK(memcmp(raddr, addr, 20) == 0);

            /* r||s||v with v = 27 + recid, and back. */
            uint8_t rsv[65];
            CHECK_OK(tss_eth_sig_to_rsv(&sig, rsv));
            CHECK(rsv[64] == 27 + sig.recid);
            CHECK(memcmp(rsv, sig.r, 32) == 0 && memcmp(rsv + 32, sig.s, 32) == 0);
            tss_eth_sig back;
            CHECK_OK(tss_eth_sig_from_rsv(&back, rsv));
            CHECK(memcmp(&back, &sig, sizeof sig) == 0);
            rsv[64] = (uint8_t)sig.recid; /* 0/1 form accepted too */
            CHECK_OK(tss_eth_sig_from_rsv(&back, rsv));
            CHECK(back.recid == sig.recid);
            rsv[64] = 29;
            CHECK_ERR(tss_eth_sig_from_rsv(&back, rsv), TSS_E_INVALID);

            /* DER matches libsecp256k1's own parse of it. */
            uint8_t der[TSS_ETH_SIG_DER_MAX], c[64];
            size_t der_len = 0;
            CHECK_OK(tss_eth_sig_to_der(&sig, der, &der_len));
            CHECK(der_len >= 8 && der_len <= 72 && der[0] == 0x30 && der[1] == der_len - 2);
            secp256k1_ecdsa_signature ds;
            CHECK(secp256k1_ecdsa_signature_parse_der(sign_ctx, &ds, der, der_len));
            secp256k1_ecdsa_signature_serialize_compact(sign_ctx, c, &ds);
            CHECK(memcmp(c, sig.r, 32) == 0 && memcmp(c + 32, sig.s, 32) == 0);

            /* High-s: refused everywhere, normalised back with the recid flipped. */
            tss_eth_sig high = sig;
            negate_s(&high);
            high.recid ^= 1; /* the same R: still "valid" math, but EIP-2 forbids it */
            CHECK_ERR(tss_eth_sig_check(&high), TSS_E_INVALID);
            CHECK(strstr(tss_error_detail(), "high-s") != NULL);
            CHECK_ERR(tss_eth_sig_verify(digest, &high, pub, 65), TSS_E_INVALID);
            CHECK_ERR(tss_eth_sig_recover_address(digest, &high, raddr), TSS_E_INVALID);
            CHECK_ERR(tss_eth_sig_to_rsv(&high, rsv), TSS_E_INVALID);
            bool flipped = false;
            CHECK_OK(tss_eth_sig_normalize(&high, &flipped));
            CHECK(flipped);
            CHECK(memcmp(&high, &sig, sizeof sig) == 0);
            CHECK_OK(tss_eth_sig_normalize(&high, &flipped));
            CHECK(!flipped);
            CHECK(memcmp(&high, &sig, sizeof sig) == 0);

            /* The wrong recovery id recovers some other key, never the signer. */
            tss_eth_sig wrong = sig;
            wrong.recid ^= 1;
            tss_result r = tss_eth_sig_recover_address(digest, &wrong, raddr);
            CHECK(!tss_is_ok(r) || memcmp(raddr, addr, 20) != 0);
            CHECK_ERR(tss_eth_sig_verify(digest, &wrong, pub, 65), TSS_E_INVALID);
            CHECK(strstr(tss_error_detail(), "recovers a different key") != NULL);

            /* Another digest, another key: verification fails. */
            digest[0] ^= 1;
            CHECK_ERR(tss_eth_sig_verify(digest, &sig, pub, 65), TSS_E_INVALID);
            CHECK(strstr(tss_error_detail(), "does not verify") != NULL);
        }
    }
}

static void signature_ranges_are_checked(void) {
    tss_eth_sig sig;
    memset(&sig, 0, sizeof sig);
    sig.r[31] = 1;
    sig.s[31] = 1;
    CHECK_OK(tss_eth_sig_check(&sig));
    sig.recid = 2; /* x(R) >= n: Ethereum cannot express it */
    CHECK_ERR(tss_eth_sig_check(&sig), TSS_E_INVALID);
    sig.recid = -1;
    CHECK_ERR(tss_eth_sig_check(&sig), TSS_E_INVALID);
    sig.recid = 0;
    memset(sig.r, 0, 32);
    CHECK_ERR(tss_eth_sig_check(&sig), TSS_E_INVALID); /* r = 0 */
    CHECK(strstr(tss_error_detail(), "zero") != NULL);
    /* r = n */
    CHECK_OK(tss_hex_decode(sig.r, 32,
                            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", "n"));
    CHECK_ERR(tss_eth_sig_check(&sig), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "group order") != NULL);
    bool flipped;
    CHECK_ERR(tss_eth_sig_normalize(&sig, &flipped), TSS_E_INVALID);
    /* s = n/2 is the largest low s; n/2 + 1 is high. */
    sig.r[0] = 0x7f;
    CHECK_OK(tss_hex_decode(sig.s, 32,
                            "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", "h"));
    CHECK_OK(tss_eth_sig_check(&sig));
    sig.s[31] = 0xa1;
    CHECK_ERR(tss_eth_sig_check(&sig), TSS_E_INVALID);
    uint8_t pub[33] = {0x02};
    uint8_t digest[32] = {0};
    CHECK_ERR(tss_eth_sig_verify(digest, &sig, pub, 32), TSS_E_INVALID);
}

static void u256_text(void) {
    uint8_t v[32], w[32];
    char dec[TSS_ETH_U256_DEC_SIZE];
    CHECK_OK(tss_eth_u256_parse(v, "1000000000000000000", "value"));
    tss_eth_u256_from_u64(w, 1000000000000000000ULL);
    CHECK(memcmp(v, w, 32) == 0);
    tss_eth_u256_to_dec(dec, v);
    CHECK(strcmp(dec, "1000000000000000000") == 0);
    CHECK_OK(tss_eth_u256_parse(v, "0x0de0b6b3a7640000", "value"));
    CHECK(memcmp(v, w, 32) == 0);
    CHECK_OK(tss_eth_u256_parse(v, "0", "value"));
    tss_eth_u256_to_dec(dec, v);
    CHECK(strcmp(dec, "0") == 0);
    const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    CHECK_OK(tss_eth_u256_parse(v, max, "value"));
    for (int i = 0; i < 32; i++) CHECK(v[i] == 0xff);
    tss_eth_u256_to_dec(dec, v);
    CHECK(strcmp(dec, max) == 0);
    CHECK_ERR(tss_eth_u256_parse(v, "115792089237316195423570985008687907853269984665640564039457584007913129639936",
                                 "value"),
              TSS_E_TOO_LARGE);
    CHECK_ERR(tss_eth_u256_parse(v, "0x1" "0000000000000000000000000000000000000000000000000000000000000000",
                                 "value"),
              TSS_E_TOO_LARGE);
    CHECK_ERR(tss_eth_u256_parse(v, "", "value"), TSS_E_INVALID);
    CHECK_ERR(tss_eth_u256_parse(v, "0x", "value"), TSS_E_INVALID);
    CHECK_ERR(tss_eth_u256_parse(v, "-1", "value"), TSS_E_INVALID);
    CHECK_ERR(tss_eth_u256_parse(v, "012", "value"), TSS_E_INVALID);
    CHECK_ERR(tss_eth_u256_parse(v, "12a", "value"), TSS_E_INVALID);
    CHECK_ERR(tss_eth_u256_parse(v, "1 ", "value"), TSS_E_INVALID);
    uint64_t u = 5;
    CHECK_OK(tss_eth_u64_parse(&u, "18446744073709551615", "nonce"));
    CHECK(u == UINT64_MAX);
    CHECK_ERR(tss_eth_u64_parse(&u, "18446744073709551616", "nonce"), TSS_E_TOO_LARGE);
    CHECK(u == UINT64_MAX);
    tss_eth_u256_from_u64(v, 1);
    tss_eth_u256_from_u64(w, 2);
    CHECK(tss_eth_u256_cmp(v, w) < 0 && tss_eth_u256_cmp(w, v) > 0 && tss_eth_u256_cmp(v, v) == 0);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    secp256k1_selftest();
    sign_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    vectors = json_load_vectors("eth-vectors.json");
    RUN(keccak_vectors);
    RUN(keccak_is_not_sha3);
    RUN(account_vectors);
    RUN(eip55_spec_examples);
    RUN(address_rejects_bad_input);
    RUN(eip191_vectors);
    RUN(signatures_verify_recover_and_encode);
    RUN(signature_ranges_are_checked);
    RUN(u256_text);
    json_free(vectors);
    secp256k1_context_destroy(sign_ctx);
    return harness_finish("eth");
}
