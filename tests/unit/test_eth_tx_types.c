/* eth/tx and eth/tx_json types 1, 3 and 4 and EIP-7702 authorizations: known answers from
 * ethers v6.17 (one transaction per type signed by the key 0x4c08...2318,
 * address 0x2c75...5c23; one authorization signed by the key 1), decoded,
 * re-encoded byte for byte, signing hash and sender; and every refusal of the
 * checks and the decoder for the new fields. */
#include <stdlib.h>
#include <string.h>

#include "eth/address.h"
#include "eth/tx.h"
#include "eth/tx_json.h"
#include "tests/unit/harness.h"
#include "util/hex.h"

static uint8_t *unhex(const char *hex, size_t *len) {
    if (hex[0] == '0' && hex[1] == 'x') hex += 2;
    size_t n = strlen(hex) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b || !tss_is_ok(tss_hex_decode(b, n, hex, "test hex"))) abort();
    *len = n;
    return b;
}

static bool detail_has(const char *s) { return strstr(tss_error_detail(), s) != NULL; }

static const char sender[] = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";

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

static void known_answers(void) {
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        size_t n, hn;
        uint8_t *raw = unhex(kat[i].raw, &n), *want = unhex(kat[i].hash, &hn);
        tss_eth_signed_tx stx;
        CHECK_OK(tss_eth_tx_decode_signed(&stx, raw, n));
        const tss_eth_tx *tx = &stx.tx;
        CHECK((int)tx->type == kat[i].type && tx->chain_id == 1 && tx->nonce == 3 &&
              tx->gas_limit == 50000 && tx->has_to && tx->data_len == 4 &&
              tx->access_list_len == 1 && tx->access_list[0].storage_key_count == 1);
        uint8_t h[32], from[20], addr[20];
        CHECK_OK(tss_eth_tx_signing_hash(tx, h));
        CHECK(memcmp(h, want, 32) == 0);
        CHECK_OK(tss_eth_tx_sender(&stx, from));
        CHECK_OK(tss_eth_address_parse(addr, sender, NULL));
        CHECK(memcmp(from, addr, 20) == 0);
        tss_writer w;
        tss_writer_init(&w, 4096);
        CHECK_OK(tss_eth_tx_encode_signed(tx, &stx.sig, &w));
        CHECK(w.len == n && memcmp(w.data, raw, n) == 0);
        tss_writer_free(&w);
        if (kat[i].type == 3) {
            CHECK(tx->blob_hash_count == 1 && tx->blob_hashes[0][0] == 0x01 &&
                  tx->blob_hashes[0][31] == 0xab && tx->max_fee_per_blob_gas[31] == 7);
        }
        if (kat[i].type == 4) {
            const tss_eth_authorization *a = &tx->authorizations[0];
            CHECK(tx->authorization_count == 1 && a->nonce == 7 && a->chain_id[31] == 1 &&
                  a->y_parity == 1 && a->address[19] == 0xad);
            uint8_t who[20], key1[20];
            CHECK_OK(tss_eth_authorization_authority(a, who));
            CHECK_OK(tss_eth_address_parse(key1, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf", NULL));
            CHECK(memcmp(who, key1, 20) == 0);
        }
        /* A flipped byte in the signed fields recovers another sender or fails. */
        raw[n - 40] ^= 1;
        tss_eth_signed_tx bad;
        if (tss_is_ok(tss_eth_tx_decode_signed(&bad, raw, n))) {
            uint8_t f2[20];
            tss_result r = tss_eth_tx_sender(&bad, f2);
            CHECK(!tss_is_ok(r) || memcmp(f2, addr, 20) != 0);
        }
        tss_eth_signed_tx_free(&bad);
        tss_eth_signed_tx_free(&stx);
        free(raw);
        free(want);
    }
}

static void authorization_hash(void) {
    uint8_t chain[32] = {0}, addr[20], h[32];
    CHECK_OK(tss_eth_address_parse(addr, "0x000000000000000000000000000000000000dEaD", NULL));
    chain[31] = 1;
    CHECK_OK(tss_eth_authorization_signing_hash(chain, addr, 7, h));
    char hex[65];
    tss_hex_encode(hex, h, 32);
    CHECK(strcmp(hex, "5d5babfff323d598be616bc7fb96543c0be6f2e399abf0b581be819543c24956") == 0);
    chain[31] = 0; /* chain id 0: any chain (ethers.hashAuthorization) */
    CHECK_OK(tss_eth_authorization_signing_hash(chain, addr, 0, h));
    tss_hex_encode(hex, h, 32);
    CHECK(strcmp(hex, "cf4daa0f3bee6fa2a20dc02dce9a80a3989aba5b52765eb6a7fa4e5db1b681f5") == 0);
    /* Authority recovery refuses y_parity > 1 and a high s. */
    tss_eth_authorization a;
    memset(&a, 0, sizeof a);
    a.y_parity = 2;
    a.r[31] = a.s[31] = 1;
    uint8_t who[20];
    CHECK_ERR(tss_eth_authorization_authority(&a, who), TSS_E_INVALID);
    a.y_parity = 0;
    memset(a.s, 0xff, 32);
    CHECK(!tss_is_ok(tss_eth_authorization_authority(&a, who)));
}

/* A valid type-3/4 transaction to mutate. */
static uint8_t blob_hash[2][32];
static tss_eth_authorization auths[1];
static tss_eth_tx base(tss_eth_tx_type type) {
    tss_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    tx.chain_id = 1;
    tx.has_to = true;
    tx.max_fee_per_gas[31] = 10;
    if (type == TSS_ETH_TX_EIP4844) {
        blob_hash[0][0] = blob_hash[1][0] = 0x01;
        tx.blob_hashes = (const uint8_t(*)[32])blob_hash;
        tx.blob_hash_count = 1;
    }
    if (type == TSS_ETH_TX_EIP7702) {
        tx.authorizations = auths;
        tx.authorization_count = 1;
    }
    return tx;
}

static void checks(void) {
    uint8_t h[32];
    tss_eth_tx tx = base(TSS_ETH_TX_EIP4844);
    CHECK_OK(tss_eth_tx_signing_hash(&tx, h));
    tx.has_to = false;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("needs a recipient"));
    tx = base(TSS_ETH_TX_EIP4844);
    tx.blob_hash_count = 0;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("at least one blob"));
    tx = base(TSS_ETH_TX_EIP4844);
    blob_hash[1][0] = 0x02;
    tx.blob_hash_count = 2;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("blob versioned hash 1 has version 0x02"));
    tx.blob_hash_count = TSS_ETH_TX_MAX_BLOB_HASHES + 1;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_TOO_LARGE);

    tx = base(TSS_ETH_TX_EIP7702);
    CHECK_OK(tss_eth_tx_signing_hash(&tx, h));
    tx.authorization_count = 0;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("at least one authorization"));
    tx = base(TSS_ETH_TX_EIP7702);
    tx.has_to = false;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    tx = base(TSS_ETH_TX_EIP7702);
    tx.authorization_count = TSS_ETH_TX_MAX_AUTHORIZATIONS + 1;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_TOO_LARGE);

    /* Fields of another type are refused, not silently dropped. */
    tx = base(TSS_ETH_TX_EIP1559);
    tx.max_fee_per_blob_gas[31] = 1;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("only allowed in a type 3"));
    tx = base(TSS_ETH_TX_EIP2930);
    tx.authorizations = auths;
    tx.authorization_count = 1;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("only allowed in a type 4"));
    /* Type 1 takes gasPrice: its fee-market fields are not compared. */
    tx = base(TSS_ETH_TX_EIP2930);
    tx.has_to = false;
    CHECK_OK(tss_eth_tx_signing_hash(&tx, h));
}

/* Decode the type-4 vector with one byte sequence replaced. */
static tss_result decode_patched(int idx, const char *from, const char *to) {
    char *hex = strdup(kat[idx].raw);
    char *p = strstr(hex, from);
    if (!p || strlen(from) != strlen(to)) abort();
    memcpy(p, to, strlen(to));
    size_t n;
    uint8_t *raw = unhex(hex, &n);
    tss_eth_signed_tx stx;
    tss_result r = tss_eth_tx_decode_signed(&stx, raw, n);
    tss_eth_signed_tx_free(&stx);
    free(raw);
    free(hex);
    return r;
}

static void decoder_refusals(void) {
    /* Blob hash of version 2. */
    CHECK_ERR(decode_patched(1, "e1a001abab", "e1a002abab"), TSS_E_INVALID);
    CHECK(detail_has("version 0x02"));
    /* A blob hash of 31 bytes (list length kept: one byte moves into the list). */
    CHECK_ERR(decode_patched(1, "e1a001abab", "e19f01abab"), TSS_E_INVALID);
    /* Authorization y_parity 2 decodes (nodes skip such tuples) but yields no authority. */
    CHECK_OK(decode_patched(2, "dead0701a0", "dead0702a0"));
    /* Transaction yParity 2. */
    CHECK_ERR(decode_patched(2, "cb480a081", "cb402a081"), TSS_E_INVALID);
    CHECK(detail_has("yParity"));
    /* Authorization nonce non-canonical (leading zero byte as a 1-byte string 0x00). */
    CHECK_ERR(decode_patched(2, "dead0701", "dead0001"), TSS_E_INVALID);
    /* Trailing byte after a typed transaction. */
    size_t n;
    uint8_t *raw = unhex(kat[0].raw, &n);
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, raw, n);
    longer[n] = 0;
    tss_eth_signed_tx stx;
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, longer, n + 1), TSS_E_TRAILING);
    tss_eth_signed_tx_free(&stx);
    /* Truncated. */
    CHECK(!tss_is_ok(tss_eth_tx_decode_signed(&stx, raw, n - 1)));
    tss_eth_signed_tx_free(&stx);
    /* Type 4 with an empty authorization list: c0 in place of the list. */
    static const char empty_auth[] =
        "04f8ab0103843b9aca008506fc23ac0082c3509435353535353535353535353535353535353535358203e884de"
        "adbeeff838f7940000000000000000000000000000000000000001e1a000000000000000000000000000000000"
        "00000000000000000000000000000002c080a081cbc10722e8e686bb3614ef6716dabd29fdadd4d0c409e16905"
        "24b55e77bb8fa027828b3a2f9073c9604437e72a65772aa7e5149426754a76ecdca79b7907f0b0";
    size_t en;
    uint8_t *e = unhex(empty_auth, &en);
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, e, en), TSS_E_INVALID);
    CHECK(detail_has("at least one authorization"));
    tss_eth_signed_tx_free(&stx);
    free(e);
    free(longer);
    free(raw);
}

/* The known-answer transactions as transaction files: same signing hash. */
#define COMMON_JSON                                                                               \
    "\"chainId\":1,\"nonce\":3,\"gasLimit\":50000,\"to\":"                                         \
    "\"0x3535353535353535353535353535353535353535\",\"value\":1000,\"data\":\"0xdeadbeef\","            \
    "\"accessList\":[{\"address\":\"0x0000000000000000000000000000000000000001\",\"storageKeys\":"     \
    "[\"0x0000000000000000000000000000000000000000000000000000000000000002\"]}]"
#define FEES_JSON "\"maxFeePerGas\":\"30000000000\",\"maxPriorityFeePerGas\":\"0x3b9aca00\""
#define AUTH_JSON                                                                                 \
    "{\"chainId\":\"0x1\",\"address\":\"0x000000000000000000000000000000000000dEaD\",\"nonce\":7,"     \
    "\"yParity\":1,\"r\":\"0xba2aa6f2fe496f566cac4312384ad4fb5837366ab7a52231dd627c9b975b68f0\",\"s\":" \
    "\"0x7bbe330ba90de322a1baf0daa7268e64c2d78dbdba1f9a9ac0ecddff53881cb4\"}"
#define BLOB_JSON "\"0x01ababababababababababababababababababababababababababababababab\""

static tss_result from_json(const char *text, uint8_t h[32]) {
    tss_eth_tx tx;
    tss_eth_tx_storage st;
    tss_result r = tss_eth_tx_from_json(text, strlen(text), &tx, &st);
    if (tss_is_ok(r)) r = tss_eth_tx_signing_hash(&tx, h);
    tss_eth_tx_storage_free(&st);
    return r;
}

static bool hash_is(const uint8_t h[32], int kat_index) {
    char hex[65];
    tss_hex_encode(hex, h, 32);
    return strcmp(hex, kat[kat_index].hash) == 0;
}

static void json_files(void) {
    uint8_t h[32];
    CHECK_OK(from_json("{\"type\":1,\"gasPrice\":\"20000000000\"," COMMON_JSON "}", h));
    CHECK(hash_is(h, 0));
    CHECK_OK(from_json("{\"type\":\"0x3\"," FEES_JSON "," COMMON_JSON
                       ",\"maxFeePerBlobGas\":7,\"blobVersionedHashes\":[" BLOB_JSON "]}",
                       h));
    CHECK(hash_is(h, 1));
    CHECK_OK(from_json("{\"type\":4," FEES_JSON "," COMMON_JSON ",\"authorizationList\":[" AUTH_JSON
                       "]}",
                       h));
    CHECK(hash_is(h, 2));

    /* Refusals, each naming the key. */
    CHECK_ERR(from_json("{\"type\":1,\"gasPrice\":1," FEES_JSON "," COMMON_JSON "}", h),
              TSS_E_INVALID);
    CHECK(detail_has("maxFeePerGas") && detail_has("type 1 (EIP-2930)"));
    CHECK_ERR(from_json("{\"type\":2," FEES_JSON "," COMMON_JSON ",\"maxFeePerBlobGas\":1}", h),
              TSS_E_INVALID);
    CHECK(detail_has("maxFeePerBlobGas") && detail_has("not allowed in a type 2"));
    CHECK_ERR(from_json("{\"type\":3," FEES_JSON "," COMMON_JSON ",\"authorizationList\":[]}", h),
              TSS_E_INVALID);
    CHECK(detail_has("authorizationList"));
    CHECK_ERR(from_json("{\"type\":3," FEES_JSON "," COMMON_JSON "}", h), TSS_E_INVALID);
    CHECK(detail_has("maxFeePerBlobGas: required key is missing"));
    CHECK_ERR(from_json("{\"type\":3," FEES_JSON "," COMMON_JSON
                        ",\"maxFeePerBlobGas\":7,\"blobVersionedHashes\":[]}",
                        h),
              TSS_E_INVALID);
    CHECK(detail_has("at least one blob versioned hash"));
    CHECK_ERR(from_json("{\"type\":3," FEES_JSON "," COMMON_JSON
                        ",\"maxFeePerBlobGas\":7,\"blobVersionedHashes\":[\"0x02ababababababababab"
                        "abababababababababababababababababababababab\"]}",
                        h),
              TSS_E_INVALID);
    CHECK(detail_has("blobVersionedHashes[0]") && detail_has("version byte 0x02"));
    CHECK_ERR(from_json("{\"type\":3," FEES_JSON "," COMMON_JSON
                        ",\"maxFeePerBlobGas\":7,\"blobVersionedHashes\":[\"0x01ab\"]}",
                        h),
              TSS_E_INVALID);
    CHECK(detail_has("64 hex digits"));
    CHECK_ERR(from_json("{\"type\":4," FEES_JSON "," COMMON_JSON ",\"authorizationList\":[]}", h),
              TSS_E_INVALID);
    CHECK(detail_has("at least one authorization"));
    CHECK_ERR(from_json("{\"type\":4," FEES_JSON "," COMMON_JSON "}", h), TSS_E_INVALID);
    CHECK(detail_has("authorizationList: required key is missing"));
    CHECK_ERR(from_json("{\"type\":4," FEES_JSON "," COMMON_JSON
                        ",\"authorizationList\":[{\"chainId\":1,\"address\":"
                        "\"0x000000000000000000000000000000000000dEaD\",\"nonce\":7,\"yParity\":256,"
                        "\"r\":1,\"s\":1}]}",
                        h),
              TSS_E_INVALID);
    CHECK(detail_has("authorizationList[0].yParity"));
    CHECK_ERR(from_json("{\"type\":4," FEES_JSON "," COMMON_JSON
                        ",\"authorizationList\":[{\"chainId\":1,\"address\":"
                        "\"0x000000000000000000000000000000000000dEaD\",\"nonce\":7,\"yParity\":1,"
                        "\"r\":1,\"s\":1,\"v\":27}]}",
                        h),
              TSS_E_INVALID);
    CHECK(detail_has("v"));
    /* Types 3 and 4 cannot create a contract. */
    CHECK_ERR(from_json("{\"type\":4,\"chainId\":1,\"nonce\":0,\"gasLimit\":1," FEES_JSON
                        ",\"authorizationList\":[" AUTH_JSON "]}",
                        h),
              TSS_E_INVALID);
    CHECK(detail_has("to: required in a type 4 transaction"));
}

int main(void) {
    RUN(json_files);
    RUN(known_answers);
    RUN(authorization_hash);
    RUN(checks);
    RUN(decoder_refusals);
    return harness_finish("eth_tx_types");
}
