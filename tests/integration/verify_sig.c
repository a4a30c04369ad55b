/* Independent signature check for tests/integration/threshold.sh, built by the
 * script against libsecp256k1 only (none of tssd's code):
 *   verify_sig PUBKEY_HEX DIGEST_HEX RSV_HEX(65 bytes, v = 27/28)
 * Exit 0 iff (r, s) is a valid low-s ECDSA signature of the digest under the
 * public key AND recovery with v yields that same key. */
#include <stdio.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

static int unhex(unsigned char *out, size_t n, const char *s) {
    if (strncmp(s, "0x", 2) == 0) s += 2;
    if (strlen(s) != 2 * n) return 0;
    for (size_t i = 0; i < n; i++)
        if (sscanf(s + 2 * i, "%2hhx", &out[i]) != 1) return 0;
    return 1;
}

int main(int argc, char **argv) {
    unsigned char pk[65], msg[32], rsv[65], ser[65], ser2[65];
    size_t pklen = (argc > 1 && strlen(argv[1]) == 130) ? 65 : 33;
    if (argc != 4 || !unhex(pk, pklen, argv[1]) || !unhex(msg, 32, argv[2]) || !unhex(rsv, 65, argv[3])) {
        fprintf(stderr, "usage: verify_sig PUBKEY DIGEST RSV\n");
        return 2;
    }
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_pubkey key, rec;
    secp256k1_ecdsa_signature sig, norm;
    secp256k1_ecdsa_recoverable_signature rsig;
    if (!secp256k1_ec_pubkey_parse(ctx, &key, pk, pklen)) { puts("bad public key"); return 1; }
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rsv)) { puts("bad r/s"); return 1; }
    if (secp256k1_ecdsa_signature_normalize(ctx, &norm, &sig)) { puts("high s"); return 1; }
    if (!secp256k1_ecdsa_verify(ctx, &sig, msg, &key)) { puts("signature does not verify"); return 1; }
    int v = rsv[64] >= 27 ? rsv[64] - 27 : rsv[64];
    if (v < 0 || v > 1) { puts("bad v"); return 1; }
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, rsv, v) ||
        !secp256k1_ecdsa_recover(ctx, &rec, &rsig, msg)) { puts("recovery failed"); return 1; }
    size_t l1 = 65, l2 = 65;
    secp256k1_ec_pubkey_serialize(ctx, ser, &l1, &key, SECP256K1_EC_UNCOMPRESSED);
    secp256k1_ec_pubkey_serialize(ctx, ser2, &l2, &rec, SECP256K1_EC_UNCOMPRESSED);
    if (memcmp(ser, ser2, 65) != 0) { puts("v recovers another key"); return 1; }
    puts("valid");
    secp256k1_context_destroy(ctx);
    return 0;
}
