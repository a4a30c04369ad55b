#include "eth/address.h"

#include <string.h>

#include "eth/keccak.h"
#include "util/hex.h"

tss_result tss_eth_address_from_secp(uint8_t out[TSS_ETH_ADDRESS_LEN], const secp256k1_pubkey *pk) {
    uint8_t ser[65];
    size_t ser_len = sizeof ser;
    /* Parsing and serialising public keys needs no precomputed tables. */
    if (!secp256k1_ec_pubkey_serialize(secp256k1_context_static, ser, &ser_len, pk,
                                       SECP256K1_EC_UNCOMPRESSED) ||
        ser_len != 65)
        return tss_fail(TSS_E_CRYPTO, "eth address: cannot serialise public key");
    uint8_t h[TSS_KECCAK256_LEN];
    TSS_GUARD(tss_keccak256(h, ser + 1, 64));
    memcpy(out, h + 12, TSS_ETH_ADDRESS_LEN);
    return TSS_OK_RESULT;
}

tss_result tss_eth_address_from_pubkey(uint8_t out[TSS_ETH_ADDRESS_LEN], const uint8_t *pubkey,
                                       size_t len) {
    /* libsecp256k1 also parses the hybrid 0x06/0x07 forms; nothing in Ethereum
     * uses them, so only the two standard forms pass. */
    bool form_ok = (len == 65 && pubkey[0] == 0x04) ||
                   (len == 33 && (pubkey[0] == 0x02 || pubkey[0] == 0x03));
    TSS_ENSURE(form_ok, TSS_E_INVALID,
               "eth address: public key must be 65 bytes 0x04||X||Y or 33 bytes 0x02/0x03||X "
               "(got %zu bytes)", len);
    secp256k1_pubkey pk;
    TSS_ENSURE(secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, pubkey, len),
               TSS_E_INVALID, "eth address: public key is not a point on secp256k1");
    return tss_eth_address_from_secp(out, &pk);
}

/* EIP-55 hashes the lower-case hex text, not the address bytes. */
static tss_result checksum_hash(uint8_t h[TSS_KECCAK256_LEN], const char lower_hex[41]) {
    return tss_keccak256(h, lower_hex, 40);
}

/* Letter i is upper case when nibble i of that hash is >= 8. */
static bool nibble_says_upper(const uint8_t h[TSS_KECCAK256_LEN], size_t i) {
    uint8_t nib = (i % 2 == 0) ? (uint8_t)(h[i / 2] >> 4) : (uint8_t)(h[i / 2] & 0x0f);
    return nib >= 8;
}

tss_result tss_eth_address_to_string(char out[TSS_ETH_ADDRESS_STR_SIZE],
                                     const uint8_t addr[TSS_ETH_ADDRESS_LEN]) {
    char lower[41];
    tss_hex_encode(lower, addr, TSS_ETH_ADDRESS_LEN);
    uint8_t h[TSS_KECCAK256_LEN];
    TSS_GUARD(checksum_hash(h, lower));
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < 40; i++) {
        char c = lower[i];
        if (c >= 'a' && c <= 'f' && nibble_says_upper(h, i)) c = (char)(c - 'a' + 'A');
        out[2 + i] = c;
    }
    out[42] = '\0';
    return TSS_OK_RESULT;
}

tss_result tss_eth_address_parse(uint8_t out[TSS_ETH_ADDRESS_LEN], const char *text,
                                 bool *checksummed) {
    TSS_ENSURE(text[0] == '0' && text[1] == 'x', TSS_E_INVALID,
               "eth address: must start with \"0x\"");
    const char *hex = text + 2;
    size_t n = strnlen(hex, 41);
    TSS_ENSURE(n == 40, TSS_E_INVALID, "eth address: expected 40 hex digits after 0x, got %s%zu",
               n > 40 ? "more than " : "", n > 40 ? (size_t)40 : n);
    bool has_lower = false, has_upper = false;
    char lower[41];
    for (size_t i = 0; i < 40; i++) {
        char c = hex[i];
        if (c >= 'a' && c <= 'f') {
            has_lower = true;
        } else if (c >= 'A' && c <= 'F') {
            has_upper = true;
            c = (char)(c - 'A' + 'a');
        } else {
            TSS_ENSURE(c >= '0' && c <= '9', TSS_E_INVALID,
                       "eth address: invalid hex digit at position %zu", i);
        }
        lower[i] = c;
    }
    lower[40] = '\0';
    uint8_t addr[TSS_ETH_ADDRESS_LEN];
    TSS_GUARD(tss_hex_decode(addr, sizeof addr, lower, "eth address"));
    bool mixed = has_lower && has_upper;
    if (mixed) {
        uint8_t h[TSS_KECCAK256_LEN];
        TSS_GUARD(checksum_hash(h, lower));
        for (size_t i = 0; i < 40; i++) {
            char c = hex[i];
            if (c >= '0' && c <= '9') continue;
            bool upper = c >= 'A' && c <= 'F';
            TSS_ENSURE(upper == nibble_says_upper(h, i), TSS_E_INVALID,
                       "eth address: EIP-55 checksum mismatch at position %zu (mistyped address?)",
                       i);
        }
    }
    memcpy(out, addr, sizeof addr);
    if (checksummed) *checksummed = mixed;
    return TSS_OK_RESULT;
}
