#include "eth/sig.h"

#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "eth/address.h"

static bool is_zero32(const uint8_t b[32]) {
    uint8_t acc = 0;
    for (size_t i = 0; i < 32; i++) acc |= b[i];
    return acc == 0;
}

/* r and s in [1, n-1] (the parser refuses values >= n), recid 0 or 1. */
static tss_result parse_rs(const tss_eth_sig *sig, secp256k1_ecdsa_signature *out) {
    TSS_ENSURE(sig->recid == 0 || sig->recid == 1, TSS_E_INVALID,
               "eth signature: recovery id %d is not 0 or 1", sig->recid);
    TSS_ENSURE(!is_zero32(sig->r) && !is_zero32(sig->s), TSS_E_INVALID,
               "eth signature: r or s is zero");
    uint8_t rs[64];
    memcpy(rs, sig->r, 32);
    memcpy(rs + 32, sig->s, 32);
    TSS_ENSURE(secp256k1_ecdsa_signature_parse_compact(secp256k1_context_static, out, rs),
               TSS_E_INVALID, "eth signature: r or s is not below the group order");
    return TSS_OK_RESULT;
}

tss_result tss_eth_sig_check(const tss_eth_sig *sig) {
    secp256k1_ecdsa_signature s;
    TSS_GUARD(parse_rs(sig, &s));
    /* normalize() returns 1 when s was above n/2; with NULL output it only checks. */
    TSS_ENSURE(!secp256k1_ecdsa_signature_normalize(secp256k1_context_static, NULL, &s),
               TSS_E_INVALID, "eth signature: s is above n/2 (high-s, refused by EIP-2)");
    return TSS_OK_RESULT;
}

tss_result tss_eth_sig_normalize(tss_eth_sig *sig, bool *flipped) {
    secp256k1_ecdsa_signature s;
    TSS_GUARD(parse_rs(sig, &s));
    bool high = secp256k1_ecdsa_signature_normalize(secp256k1_context_static, &s, &s);
    if (high) {
        uint8_t rs[64];
        secp256k1_ecdsa_signature_serialize_compact(secp256k1_context_static, rs, &s);
        memcpy(sig->s, rs + 32, 32);
        sig->recid ^= 1;
    }
    if (flipped) *flipped = high;
    return TSS_OK_RESULT;
}

static tss_result recover_point(const uint8_t digest[32], const tss_eth_sig *sig,
                                secp256k1_pubkey *pk) {
    TSS_GUARD(tss_eth_sig_check(sig));
    uint8_t rs[64];
    memcpy(rs, sig->r, 32);
    memcpy(rs + 32, sig->s, 32);
    secp256k1_ecdsa_recoverable_signature rsig;
    TSS_ENSURE(secp256k1_ecdsa_recoverable_signature_parse_compact(secp256k1_context_static,
                                                                   &rsig, rs, sig->recid),
               TSS_E_INVALID, "eth signature: cannot parse recoverable signature");
    TSS_ENSURE(secp256k1_ecdsa_recover(secp256k1_context_static, pk, &rsig, digest),
               TSS_E_INVALID, "eth signature: no public key recovers from this signature");
    return TSS_OK_RESULT;
}

tss_result tss_eth_sig_recover(const uint8_t digest[32], const tss_eth_sig *sig,
                               uint8_t pubkey_out[65]) {
    secp256k1_pubkey pk;
    TSS_GUARD(recover_point(digest, sig, &pk));
    size_t len = 65;
    TSS_ENSURE(secp256k1_ec_pubkey_serialize(secp256k1_context_static, pubkey_out, &len, &pk,
                                             SECP256K1_EC_UNCOMPRESSED) &&
                   len == 65,
               TSS_E_CRYPTO, "eth signature: cannot serialise recovered key");
    return TSS_OK_RESULT;
}

tss_result tss_eth_sig_recover_address(const uint8_t digest[32], const tss_eth_sig *sig,
                                       uint8_t address_out[20]) {
    secp256k1_pubkey pk;
    TSS_GUARD(recover_point(digest, sig, &pk));
    return tss_eth_address_from_secp(address_out, &pk);
}

tss_result tss_eth_sig_verify(const uint8_t digest[32], const tss_eth_sig *sig,
                              const uint8_t *pubkey, size_t pubkey_len) {
    TSS_GUARD(tss_eth_sig_check(sig));
    bool form_ok = (pubkey_len == 65 && pubkey[0] == 0x04) ||
                   (pubkey_len == 33 && (pubkey[0] == 0x02 || pubkey[0] == 0x03));
    TSS_ENSURE(form_ok, TSS_E_INVALID, "eth signature: public key must be 33 or 65 SEC1 bytes");
    secp256k1_pubkey pk;
    TSS_ENSURE(secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, pubkey, pubkey_len),
               TSS_E_INVALID, "eth signature: public key is not a point on secp256k1");
    secp256k1_ecdsa_signature s;
    TSS_GUARD(parse_rs(sig, &s));
    TSS_ENSURE(secp256k1_ecdsa_verify(secp256k1_context_static, &s, digest, &pk), TSS_E_INVALID,
               "eth signature: does not verify under the public key");
    /* A valid (r, s) with the wrong parity would recover someone else's address. */
    uint8_t want[65], got[65];
    size_t len = 65;
    TSS_ENSURE(secp256k1_ec_pubkey_serialize(secp256k1_context_static, want, &len, &pk,
                                             SECP256K1_EC_UNCOMPRESSED),
               TSS_E_CRYPTO, "eth signature: cannot serialise public key");
    TSS_GUARD(tss_eth_sig_recover(digest, sig, got));
    TSS_ENSURE(memcmp(want, got, 65) == 0, TSS_E_INVALID,
               "eth signature: recovery id %d recovers a different key", sig->recid);
    return TSS_OK_RESULT;
}

tss_result tss_eth_sig_to_rsv(const tss_eth_sig *sig, uint8_t out[TSS_ETH_SIG_RSV_LEN]) {
    TSS_GUARD(tss_eth_sig_check(sig));
    memcpy(out, sig->r, 32);
    memcpy(out + 32, sig->s, 32);
    out[64] = (uint8_t)(27 + sig->recid);
    return TSS_OK_RESULT;
}

tss_result tss_eth_sig_from_rsv(tss_eth_sig *sig, const uint8_t in[TSS_ETH_SIG_RSV_LEN]) {
    uint8_t v = in[64];
    TSS_ENSURE(v == 27 || v == 28 || v == 0 || v == 1, TSS_E_INVALID,
               "eth signature: v = %u is not 27, 28, 0 or 1", v);
    tss_eth_sig tmp;
    memcpy(tmp.r, in, 32);
    memcpy(tmp.s, in + 32, 32);
    tmp.recid = v >= 27 ? v - 27 : v;
    TSS_GUARD(tss_eth_sig_check(&tmp));
    *sig = tmp;
    return TSS_OK_RESULT;
}

tss_result tss_eth_sig_to_der(const tss_eth_sig *sig, uint8_t out[TSS_ETH_SIG_DER_MAX],
                              size_t *out_len) {
    secp256k1_ecdsa_signature s;
    TSS_GUARD(parse_rs(sig, &s));
    size_t len = TSS_ETH_SIG_DER_MAX;
    TSS_ENSURE(secp256k1_ecdsa_signature_serialize_der(secp256k1_context_static, out, &len, &s),
               TSS_E_INTERNAL, "eth signature: DER buffer too small");
    *out_len = len;
    return TSS_OK_RESULT;
}
