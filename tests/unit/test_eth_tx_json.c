/* eth/tx_json: every transaction of eth-vectors.json written as a transaction
 * file (as given, as JSON integers, as 0x hex, reordered and pretty-printed,
 * "to" null or absent) gives the vector's unsigned serialisation and signing
 * hash; access lists; the caps; and every refusal names its key. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/tx.h"
#include "eth/tx_json.h"
#include "eth/u256.h"
#include "tests/unit/harness.h"
#include "tests/unit/json_lite.h"
#include "util/hex.h"
#include "util/secmem.h"

static json_value *vectors;

static bool detail_has(const char *s) {
    if (strstr(tss_error_detail(), s)) return true;
    fprintf(stderr, "    detail \"%s\" lacks \"%s\"\n", tss_error_detail(), s);
    return false;
}

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void sb_addf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_addf(sbuf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_add(b, tmp);
}

/* ---- vectors -------------------------------------------------------------------- */

typedef enum { AS_GIVEN, INTEGERS, HEX, REORDERED_PRETTY, TO_OMITTED, MODE_COUNT } mode;

static bool is_quantity(const char *key) {
    static const char *const q[] = {"type",         "chainId",  "nonce", "gasLimit", "gasPrice",
                                    "maxFeePerGas", "maxPriorityFeePerGas", "value"};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (strcmp(q[i], key) == 0) return true;
    return false;
}

/* One member of the vector's "tx" object written in the given mode. */
static void write_member(sbuf *b, const char *key, const json_value *v, mode m, bool first,
                         bool pretty) {
    if (m == TO_OMITTED && strcmp(key, "to") == 0 && v->type == JSON_NULL) return;
    sb_add(b, first ? "" : ",");
    sb_add(b, pretty ? "\n    " : "");
    sb_addf(b, "\"%s\":%s", key, pretty ? "  " : "");
    if (v->type == JSON_NULL) {
        sb_add(b, "null");
    } else if (is_quantity(key) && (m == INTEGERS || m == HEX)) {
        uint8_t q[32];
        if (!tss_is_ok(tss_eth_u256_parse(q, v->string, key))) abort();
        if (m == INTEGERS) {
            char dec[TSS_ETH_U256_DEC_SIZE];
            tss_eth_u256_to_dec(dec, q);
            sb_add(b, dec);
        } else {
            char hex[65];
            tss_hex_encode(hex, q, 32);
            const char *h = hex;
            while (h[0] == '0' && h[1]) h++;
            sb_addf(b, "\"0x%s\"", h);
        }
    } else if (v->type == JSON_NUMBER) {
        sb_add(b, v->string);
    } else {
        sb_addf(b, "\"%s\"", v->string);
    }
}

static char *vector_file(const json_value *tx, mode m) {
    sbuf b = {0};
    bool pretty = m == REORDERED_PRETTY;
    sb_add(&b, "{");
    for (size_t k = 0; k < tx->count; k++) {
        size_t i = pretty ? tx->count - 1 - k : k;
        write_member(&b, tx->keys[i], tx->items[i], m, b.len == 1, pretty);
    }
    sb_add(&b, pretty ? "\n}\n" : "}");
    return b.p;
}

static uint8_t *unhex(const char *hex, size_t *len) {
    if (hex[0] == '0' && hex[1] == 'x') hex += 2;
    size_t n = strlen(hex) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b || !tss_is_ok(tss_hex_decode(b, n, hex, "test hex"))) abort();
    *len = n;
    return b;
}

static void vector_transactions(void) {
    const json_value *txs = json_get(vectors, "transactions");
    CHECK(txs && txs->count == 4);
    size_t checked = 0;
    for (size_t i = 0; txs && i < txs->count; i++) {
        const json_value *v = txs->items[i], *tx = json_get(v, "tx");
        uint8_t want_hash[32];
        CHECK_OK(tss_hex_decode(want_hash, 32, json_str(v, "signing_hash"), "hash"));
        size_t ulen;
        uint8_t *unsigned_ser = unhex(json_str(v, "unsigned_serialized"), &ulen);
        for (mode m = AS_GIVEN; m < MODE_COUNT; m++) {
            char *text = vector_file(tx, m);
            tss_eth_tx out;
            tss_eth_tx_storage st;
            uint8_t hash[32];
            tss_result r = tss_eth_tx_from_json(text, strlen(text), &out, &st);
            CHECK_OK(r);
            if (!tss_is_ok(r)) fprintf(stderr, "    vector %zu mode %d: %s\n", i, (int)m, text);
            if (tss_is_ok(r)) {
                CHECK_OK(tss_eth_tx_signing_hash(&out, hash));
                CHECK(memcmp(hash, want_hash, 32) == 0);
                tss_writer w;
                tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
                CHECK_OK(tss_eth_tx_encode_unsigned(&out, &w));
                CHECK(w.len == ulen && memcmp(w.data, unsigned_ser, ulen) == 0);
                tss_writer_free(&w);
                CHECK(out.has_to == (json_get(tx, "to")->type == JSON_STRING));
                checked++;
            }
            tss_eth_tx_storage_free(&st);
            free(text);
        }
        free(unsigned_ser);
    }
    CHECK(checked == 4 * MODE_COUNT);
}

/* ---- access lists ------------------------------------------------------------------ */

#define K1 "0x0000000000000000000000000000000000000000000000000000000000000001"
#define K2 "0xff00000000000000000000000000000000000000000000000000000000000000"
#define K3 "0x0000000000000000000000000000000000000000000000000000000000000007"
#define A1 "0x1111111111111111111111111111111111111111"
#define A2 "0x2222222222222222222222222222222222222222"

static void access_list_matches_hand_built(void) {
    const char *text = "{\"type\": 2, \"chainId\": 1, \"nonce\": 0, \"gasLimit\": 60000,\n"
                       " \"maxPriorityFeePerGas\": 0, \"maxFeePerGas\": \"100\",\n"
                       " \"to\": \"0x3333333333333333333333333333333333333333\",\n"
                       " \"accessList\": [\n"
                       "   {\"address\": \"" A1 "\", \"storageKeys\": [\"" K1 "\", \"" K2
                       "\", \"" K3 "\"]},\n"
                       "   {\"storageKeys\": [], \"address\": \"" A2 "\"}]}";
    uint8_t keys[3][32];
    memset(keys, 0, sizeof keys);
    keys[0][31] = 1;
    keys[1][0] = 0xff;
    keys[2][31] = 7;
    tss_eth_access_entry al[2];
    memset(al, 0, sizeof al);
    memset(al[0].address, 0x11, 20);
    al[0].storage_keys = (const uint8_t(*)[32])keys;
    al[0].storage_key_count = 3;
    memset(al[1].address, 0x22, 20);
    tss_eth_tx want;
    memset(&want, 0, sizeof want);
    want.type = TSS_ETH_TX_EIP1559;
    want.chain_id = 1;
    want.gas_limit = 60000;
    tss_eth_u256_from_u64(want.max_fee_per_gas, 100);
    want.has_to = true;
    memset(want.to, 0x33, 20);
    want.access_list = al;
    want.access_list_len = 2;

    tss_eth_tx got;
    tss_eth_tx_storage st;
    CHECK_OK(tss_eth_tx_from_json(text, strlen(text), &got, &st));
    CHECK(got.access_list_len == 2 && got.data_len == 0 && got.data == NULL);
    CHECK(got.access_list_len == 2 && got.access_list[0].storage_key_count == 3 &&
          got.access_list[1].storage_key_count == 0 &&
          memcmp(got.access_list[0].storage_keys, keys, sizeof keys) == 0 &&
          memcmp(got.access_list[1].address, al[1].address, 20) == 0);
    uint8_t h1[32], h2[32];
    CHECK_OK(tss_eth_tx_signing_hash(&want, h1));
    CHECK_OK(tss_eth_tx_signing_hash(&got, h2));
    CHECK(memcmp(h1, h2, 32) == 0);
    tss_eth_tx_storage_free(&st);
    tss_eth_tx_storage_free(&st); /* idempotent */
}

/* ---- a template for refusals ------------------------------------------------------------ */

typedef struct {
    const char *key, *value;
} field;

static const field type2_fields[] = {
    {"type", "2"},
    {"chainId", "1"},
    {"nonce", "7"},
    {"maxPriorityFeePerGas", "\"1000000000\""},
    {"maxFeePerGas", "\"30000000000\""},
    {"gasLimit", "21000"},
    {"to", "\"0x000000000000000000000000000000000000dEaD\""},
    {"value", "\"0x3e8\""},
    {"data", "\"0xa9059cbb\""},
    {"accessList", "[]"},
};
static const field legacy_fields[] = {
    {"type", "0"},
    {"chainId", "1"},
    {"nonce", "9"},
    {"gasPrice", "\"20000000000\""},
    {"gasLimit", "21000"},
    {"to", "\"0x3535353535353535353535353535353535353535\""},
    {"value", "\"1000000000000000000\""},
    {"data", "\"0x\""},
};

/* The template with key set to value (NULL: removed; new keys appended). */
static char *with(const field *f, size_t n, const char *key, const char *value) {
    sbuf b = {0};
    bool found = false;
    sb_add(&b, "{");
    for (size_t i = 0; i < n; i++) {
        const char *v = f[i].value;
        if (key && strcmp(f[i].key, key) == 0) {
            found = true;
            v = value;
        }
        if (!v) continue;
        sb_addf(&b, "%s\"%s\": ", b.len > 1 ? ", " : "", f[i].key);
        sb_add(&b, v);
    }
    if (key && !found && value) {
        sb_addf(&b, "%s\"%s\": ", b.len > 1 ? ", " : "", key);
        sb_add(&b, value);
    }
    sb_add(&b, "}");
    return b.p;
}

typedef struct {
    bool legacy;
    const char *key, *value;
    tss_err err;
    const char *detail;
} tx_case;

#define ADDR "\"0x000000000000000000000000000000000000dEaD\""
#define U256_MAX "115792089237316195423570985008687907853269984665640564039457584007913129639935"

static const tx_case cases[] = {
    /* type */
    {false, "type", NULL, TSS_E_INVALID, "type: required key is missing (in the object at line 1"},
    {false, "type", "5", TSS_E_UNSUPPORTED, "type (line 1, column 10): unsupported transaction type 5"},
    {false, "type", "255", TSS_E_UNSUPPORTED, "unsupported transaction type 255"},
    {false, "type", "\"0x2\"", TSS_OK, NULL},
    {false, "type", "\"two\"", TSS_E_INVALID, "type (line 1, column 10): invalid decimal digit 't'"},
    {false, "type", "2.0", TSS_E_INVALID, "type (line 1, column 10): expected a non-negative integer"},
    {false, "type", "null", TSS_E_INVALID, "type (line 1, column 10): expected an integer or a string"},
    {true, "type", "\"0x0\"", TSS_OK, NULL},
    /* chainId */
    {false, "chainId", NULL, TSS_E_INVALID, "chainId: required key is missing"},
    {false, "chainId", "0", TSS_E_INVALID, "chainId (line 1, column 24): must be at least 1"},
    {false, "chainId", "18446744073709551615", TSS_OK, NULL},
    {false, "chainId", "18446744073709551616", TSS_E_TOO_LARGE, "chainId (line 1, column 24): number exceeds 2^64-1"},
    {false, "chainId", "\"0xffffffffffffffff\"", TSS_OK, NULL},
    {false, "chainId", "\"0x10000000000000000\"", TSS_E_TOO_LARGE, "chainId (line 1, column 24): number exceeds 2^64-1"},
    {false, "chainId", "-1", TSS_E_INVALID, "chainId (line 1, column 24): expected a non-negative integer"},
    /* nonce */
    {false, "nonce", NULL, TSS_E_INVALID, "nonce: required key is missing"},
    {false, "nonce", "1e3", TSS_E_INVALID, "nonce (line 1, column 36): expected a non-negative integer without fraction or exponent, found 1e3"},
    {false, "nonce", "\"\"", TSS_E_INVALID, "nonce (line 1, column 36): empty number"},
    {false, "nonce", "\"0x\"", TSS_E_INVALID, "nonce (line 1, column 36): empty number"},
    {false, "nonce", "\"07\"", TSS_E_INVALID, "nonce (line 1, column 36): decimal number with a leading zero"},
    {false, "nonce", "\" 7\"", TSS_E_INVALID, "nonce (line 1, column 36): invalid decimal digit ' '"},
    {false, "nonce", "\"0x7g\"", TSS_E_INVALID, "invalid hex digit 'g'"},
    {false, "nonce", "\"7\\u0000\"", TSS_E_INVALID, "nonce (line 1, column 36): string contains a NUL"},
    {false, "nonce", "[7]", TSS_E_INVALID, "expected an integer or a string (decimal or 0x hex), found an array"},
    {false, "nonce", "\"0x0000000000000000000000000000000000000000000000000000000000000000000007\"", TSS_OK, NULL},
    /* gasLimit */
    {false, "gasLimit", NULL, TSS_E_INVALID, "gasLimit: required key is missing"},
    {false, "gasLimit", "true", TSS_E_INVALID, "gasLimit (line 1, column "},
    /* fees */
    {false, "maxFeePerGas", NULL, TSS_E_INVALID, "maxFeePerGas: required key is missing"},
    {false, "maxPriorityFeePerGas", NULL, TSS_E_INVALID, "maxPriorityFeePerGas: required key is missing"},
    {false, "maxPriorityFeePerGas", "\"30000000001\"", TSS_E_INVALID, "maxPriorityFeePerGas (line 1, column 63): 30000000001 exceeds maxFeePerGas 30000000000"},
    {false, "maxFeePerGas", U256_MAX, TSS_OK, NULL},
    {false, "maxFeePerGas", "115792089237316195423570985008687907853269984665640564039457584007913129639936", TSS_E_TOO_LARGE, "maxFeePerGas (line 1, column "},
    {false, "maxFeePerGas", "1.5e10", TSS_E_INVALID, "maxFeePerGas (line 1, column "},
    {false, "gasPrice", "\"1\"", TSS_E_INVALID, "gasPrice (line 1, column "},
    {true, "gasPrice", NULL, TSS_E_INVALID, "gasPrice: required key is missing"},
    {true, "maxFeePerGas", "1", TSS_E_INVALID, "maxFeePerGas (line 1, column 183): not allowed in a type 0 (legacy) transaction"},
    {true, "maxPriorityFeePerGas", "1", TSS_E_INVALID, "maxPriorityFeePerGas (line 1, column "},
    {true, "accessList", "[]", TSS_E_INVALID, "accessList (line 1, column 183): not allowed in a type 0"},
    /* value */
    {false, "value", NULL, TSS_OK, NULL},
    {false, "value", "\"0x" "10000000000000000000000000000000000000000000000000000000000000000\"", TSS_E_TOO_LARGE, "value (line 1, column 188): number exceeds 2^256-1"},
    {false, "value", "null", TSS_E_INVALID, "value (line 1, column 188): expected an integer or a string"},
    {false, "value", "-5", TSS_E_INVALID, "value (line 1, column 188): expected a non-negative integer"},
    {true, "value", "\"" U256_MAX "\"", TSS_OK, NULL},
    /* unknown keys: typos are never ignored */
    {false, "gasprice", "1", TSS_E_INVALID, "gasprice (line 1, column 237): unknown key (allowed: type, chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data, accessList)"},
    {false, "from", ADDR, TSS_E_INVALID, "from (line 1, column 237): unknown key"},
    {false, "input", "\"0x\"", TSS_E_INVALID, "input (line 1, column 237): unknown key"},
    {true, "Nonce", "1", TSS_E_INVALID, "Nonce (line 1, column 183): unknown key (allowed: type, chainId, nonce, gasPrice,"},
    {false, "to\\u0000", ADDR, TSS_E_INVALID, "[\"to\\x00\"] (line 1, column 237): unknown key"},
    /* to */
    {false, "to", "\"0x000000000000000000000000000000000000dEAD\"", TSS_E_INVALID, "to (line 1, column 133): eth address: EIP-55 checksum mismatch"},
    {false, "to", "\"0x000000000000000000000000000000000000DEAD\"", TSS_OK, NULL},
    {false, "to", "\"0x000000000000000000000000000000000000dead\"", TSS_OK, NULL},
    {false, "to", "\"000000000000000000000000000000000000dEaD\"", TSS_E_INVALID, "to (line 1, column 133): eth address: must start with \"0x\""},
    {false, "to", "\"0x00\"", TSS_E_INVALID, "to (line 1, column 133): eth address: expected 40 hex digits"},
    {false, "to", "\"0x000000000000000000000000000000000000dEaD00\"", TSS_E_INVALID, "expected 40 hex digits after 0x, got more than 40"},
    {false, "to", "\"0x000000000000000000000000000000000000dEaD\\u0000\"", TSS_E_INVALID, "to (line 1, column 133): string contains a NUL"},
    {false, "to", "57005", TSS_E_INVALID, "to (line 1, column 133): expected a string, found a number"},
    {false, "to", "\"\"", TSS_E_INVALID, "to (line 1, column 133): eth address: must start with"},
    /* data */
    {false, "data", NULL, TSS_OK, NULL},
    {false, "data", "\"0x\"", TSS_OK, NULL},
    {false, "data", "\"0xABcd\"", TSS_OK, NULL},
    {false, "data", "\"0x123\"", TSS_E_INVALID, "data (line 1, column 205): hex has an odd number of digits (3)"},
    {false, "data", "\"1234\"", TSS_E_INVALID, "data (line 1, column 205): hex must start with \"0x\""},
    {false, "data", "\"0X1234\"", TSS_E_INVALID, "hex must start with \"0x\""},
    {false, "data", "\"\"", TSS_E_INVALID, "hex must start with \"0x\""},
    {false, "data", "\"0x12zz\"", TSS_E_INVALID, "data (line 1, column 205): invalid hex digit at position 4"},
    {false, "data", "\"0x12 34\"", TSS_E_INVALID, "invalid hex digit at position 4"},
    {false, "data", "[]", TSS_E_INVALID, "data (line 1, column 205): expected a string, found an array"},
    /* access lists */
    {true, "accessList", NULL, TSS_OK, NULL},
    {false, "accessList", NULL, TSS_OK, NULL},
    {false, "accessList", "{}", TSS_E_INVALID, "accessList (line 1, column 233): expected an array, found an object"},
    {false, "accessList", "null", TSS_E_INVALID, "accessList (line 1, column 233): expected an array, found null"},
    {false, "accessList", "[1]", TSS_E_INVALID, "accessList[0] (line 1, column 234): expected an object, found a number"},
    {false, "accessList", "[{\"address\": " ADDR ", \"storageKeys\": [], \"x\": 1}]", TSS_E_INVALID, "accessList[0].x (line 1, column 311): unknown key (allowed: address, storageKeys)"},
    {false, "accessList", "[{\"storageKeys\": []}]", TSS_E_INVALID, "accessList[0].address: required key is missing (in the object at line 1, column 234)"},
    {false, "accessList", "[{\"address\": " ADDR "}]", TSS_E_INVALID, "accessList[0].storageKeys: required key is missing"},
    {false, "accessList", "[{\"address\": \"0x00\", \"storageKeys\": []}]", TSS_E_INVALID, "accessList[0].address (line 1, column 246): eth address: expected 40 hex digits"},
    {false, "accessList", "[{\"address\": 1, \"storageKeys\": []}]", TSS_E_INVALID, "accessList[0].address (line 1, column 246): expected a string, found a number"},
    {false, "accessList", "[{\"address\": " ADDR ", \"storageKeys\": \"" K1 "\"}]", TSS_E_INVALID, "accessList[0].storageKeys (line 1, column 307): expected an array, found a string"},
    {false, "accessList", "[{\"address\": " ADDR ", \"storageKeys\": [\"0x01\"]}]", TSS_E_INVALID, "accessList[0].storageKeys[0] (line 1, column 308): a storage key is \"0x\" and 64 hex digits, found 2 digits"},
    {false, "accessList", "[{\"address\": " ADDR ", \"storageKeys\": [\"" K1 "\", 5]}]", TSS_E_INVALID, "accessList[0].storageKeys[1] (line 1, column 378): expected a string, found a number"},
    {false, "accessList", "[{\"address\": " ADDR ", \"storageKeys\": [\"" K1 "0\"]}]", TSS_E_INVALID, "accessList[0].storageKeys[0] (line 1, column 308): hex has an odd number of digits (65)"},
    {false, "accessList", "[{\"address\": " ADDR ", \"storageKeys\": [\"" K1 "00\"]}]", TSS_E_INVALID, "found 66 digits"},
    {false, "accessList", "[{\"address\": " ADDR ", \"storageKeys\": [\"" K1 "\"]}, {\"address\": " ADDR ", \"storageKeys\": [\"" K1 "\"]}]", TSS_OK, NULL},
};

static void refusals_name_the_key(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tx_case *c = &cases[i];
        char *text = c->legacy ? with(legacy_fields, 8, c->key, c->value)
                               : with(type2_fields, 10, c->key, c->value);
        tss_eth_tx out, before;
        memset(&out, 0xA5, sizeof out);
        before = out;
        tss_eth_tx_storage st;
        tss_error_clear();
        tss_result r = tss_eth_tx_from_json(text, strlen(text), &out, &st);
        bool ok = r.err == c->err && (!c->detail || strstr(tss_error_detail(), c->detail));
        if (r.err != TSS_OK)  /* nothing written, nothing held */
            ok = ok && memcmp(&out, &before, sizeof out) == 0 && st.data == NULL &&
                 st.entries == NULL && st.keys == NULL;
        else
            ok = ok && tss_is_ok(tss_eth_tx_check(&out));
        if (!ok)
            fprintf(stderr, "    case %zu: %s\n      got %s \"%s\"\n      want %s \"%s\"\n", i, text,
                    tss_err_name(r.err), tss_error_detail(), tss_err_name(c->err),
                    c->detail ? c->detail : "");
        CHECK(ok);
        tss_eth_tx_storage_free(&st);
        free(text);
    }
}

static void defaults_and_contract_creation(void) {
    /* to absent or null: contract creation; value and data absent: zero, empty. */
    static const char *const texts[] = {
        "{\"type\":2,\"chainId\":1337,\"nonce\":0,\"maxPriorityFeePerGas\":0,\"maxFeePerGas\":0,"
        "\"gasLimit\":53000,\"data\":\"0x6000\"}",
        "{\"type\":2,\"chainId\":1337,\"nonce\":0,\"maxPriorityFeePerGas\":0,\"maxFeePerGas\":0,"
        "\"gasLimit\":53000,\"data\":\"0x6000\",\"to\":null,\"value\":\"0\",\"accessList\":[]}",
    };
    uint8_t want[32];
    CHECK_OK(tss_hex_decode(want, 32,
                            "f66819f223310dea7998d318d888ca49a8ec9b44c71a51461d3d26c6965b972d",
                            "hash"));
    for (size_t i = 0; i < 2; i++) {
        tss_eth_tx tx;
        tss_eth_tx_storage st;
        uint8_t h[32], zero[32] = {0};
        CHECK_OK(tss_eth_tx_from_json(texts[i], strlen(texts[i]), &tx, &st));
        CHECK(!tx.has_to && memcmp(tx.value, zero, 32) == 0 && tx.access_list_len == 0);
        CHECK_OK(tss_eth_tx_signing_hash(&tx, h));
        CHECK(memcmp(h, want, 32) == 0);
        tss_eth_tx_storage_free(&st);
    }
}

static void whole_document_errors(void) {
    static const struct {
        const char *text;
        tss_err err;
        const char *detail;
    } docs[] = {
        {"", TSS_E_TRUNCATED, "json: line 1, column 1: expected a value"},
        {"[]", TSS_E_INVALID, "top level (line 1, column 1): expected an object, found an array"},
        {"\"tx\"", TSS_E_INVALID, "top level (line 1, column 1): expected an object, found a string"},
        {"{\"type\": 2, \"type\": 0}", TSS_E_INVALID, "json: line 1, column 13: duplicate key \"type\""},
        {"{\"type\": 2,}", TSS_E_INVALID, "json: line 1, column 12: trailing comma"},
        {"{\"type\": 0, \"nonce\": 09}", TSS_E_INVALID, "json: line 1, column 23: leading zeros"},
        {"{\n  \"type\": 2,\n  \"chainId\": 1,\n  \"nonce\": 7,\n  \"maxPriorityFeePerGas\": 1,\n"
         "  \"maxFeePerGas\": 2,\n  \"gasLimit\": 21000,\n  \"to\": \"0xdeadbeef\"\n}\n",
         TSS_E_INVALID, "to (line 8, column 9): eth address: expected 40 hex digits"},
        {"{\n  \"type\": 2,\n  \"chainId\": 1,\n  \"nonce\": 7,\n  \"maxPriorityFeePerGas\": 1,\n"
         "  \"maxFeePerGas\": 2,\n  \"gasLimit\": 21000,\n  \"too\": \"0x\"\n}\n",
         TSS_E_INVALID, "too (line 8, column 3): unknown key"},
        {"{\"type\": 2, \"chainId\": 1, \"nonce\": 1, \"maxFeePerGas\": 1, "
         "\"maxPriorityFeePerGas\": 1, \"gasLimit\": 1} trailing",
         TSS_E_TRAILING, "json: line 1, column 100: unexpected 't' after the document"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        tss_eth_tx tx;
        tss_eth_tx_storage st;
        tss_result r = tss_eth_tx_from_json(docs[i].text, strlen(docs[i].text), &tx, &st);
        bool ok = r.err == docs[i].err && strstr(tss_error_detail(), docs[i].detail);
        if (!ok)
            fprintf(stderr, "    doc %zu: got %s \"%s\"\n", i, tss_err_name(r.err),
                    tss_error_detail());
        CHECK(ok);
        tss_eth_tx_storage_free(&st);
    }
    tss_eth_tx tx;
    tss_eth_tx_storage st;
    CHECK_ERR(tss_eth_tx_from_json(NULL, 0, &tx, &st), TSS_E_TRUNCATED);
}

/* ---- caps --------------------------------------------------------------------------------- */

static char *access_list_doc(size_t entries, size_t keys_per_entry, size_t data_bytes) {
    sbuf b = {0};
    sb_add(&b, "{\"type\":2,\"chainId\":1,\"nonce\":0,\"maxPriorityFeePerGas\":1,\"maxFeePerGas\":1,"
               "\"gasLimit\":30000000,\"data\":\"0x");
    for (size_t i = 0; i < data_bytes; i++) sb_add(&b, "ab");
    sb_add(&b, "\",\"accessList\":[");
    for (size_t e = 0; e < entries; e++) {
        sb_addf(&b, "%s{\"address\":\"%s\",\"storageKeys\":[", e ? "," : "", A1);
        for (size_t k = 0; k < keys_per_entry; k++) sb_addf(&b, "%s\"%s\"", k ? "," : "", K1);
        sb_add(&b, "]}");
    }
    sb_add(&b, "]}");
    return b.p;
}

static void caps(void) {
    tss_eth_tx tx;
    tss_eth_tx_storage st;
    char *t;
    /* 1024 entries of 1 key each: within every cap. */
    t = access_list_doc(TSS_ETH_TX_MAX_ACCESS_ENTRIES, 1, 0);
    CHECK_OK(tss_eth_tx_from_json(t, strlen(t), &tx, &st));
    CHECK(tx.access_list_len == TSS_ETH_TX_MAX_ACCESS_ENTRIES);
    uint8_t h[32];
    CHECK_OK(tss_eth_tx_signing_hash(&tx, h));
    tss_eth_tx_storage_free(&st);
    free(t);
    /* 1025 entries. */
    t = access_list_doc(TSS_ETH_TX_MAX_ACCESS_ENTRIES + 1, 0, 0);
    CHECK_ERR(tss_eth_tx_from_json(t, strlen(t), &tx, &st), TSS_E_TOO_LARGE);
    CHECK(detail_has("accessList (line 1, column 120): 1025 entries exceed the limit of 1024"));
    free(t);
    /* 4096 keys in total is the cap, 4097 is over it (named where it overflows). */
    t = access_list_doc(2, TSS_ETH_TX_MAX_STORAGE_KEYS / 2, 0);
    tss_result r = tss_eth_tx_from_json(t, strlen(t), &tx, &st);
    /* 4096 keys encode to more than 128 KiB: refused at parse time, not at signing. */
    CHECK_ERR(r, TSS_E_TOO_LARGE);
    CHECK(detail_has("top level (line 1, column 1): the transaction does not encode within 131072"));
    free(t);
    t = access_list_doc(2, TSS_ETH_TX_MAX_STORAGE_KEYS / 2 + 1, 0);
    CHECK_ERR(tss_eth_tx_from_json(t, strlen(t), &tx, &st), TSS_E_TOO_LARGE);
    CHECK(detail_has("accessList[1].storageKeys (line 1, column "));
    CHECK(detail_has("more than 4096 storage keys in the access list in total"));
    free(t);
    t = access_list_doc(1, 3000, 0); /* 3000 * 33 bytes fits */
    CHECK_OK(tss_eth_tx_from_json(t, strlen(t), &tx, &st));
    CHECK(tx.access_list[0].storage_key_count == 3000);
    tss_eth_tx_storage_free(&st);
    free(t);
    /* Data: 100000 bytes fine; more than TSS_ETH_TX_MAX_SIZE named as data. */
    t = access_list_doc(0, 0, 100000);
    CHECK_OK(tss_eth_tx_from_json(t, strlen(t), &tx, &st));
    CHECK(tx.data_len == 100000 && tx.data[0] == 0xab && tx.data[99999] == 0xab);
    tss_eth_tx_storage_free(&st);
    free(t);
    t = access_list_doc(0, 0, TSS_ETH_TX_MAX_SIZE + 1);
    CHECK_ERR(tss_eth_tx_from_json(t, strlen(t), &tx, &st), TSS_E_TOO_LARGE);
    CHECK(detail_has("data (line 1, column 102): 131073 bytes of data exceed the limit of 131072"));
    free(t);
    t = access_list_doc(0, 0, TSS_ETH_TX_MAX_SIZE);
    CHECK_ERR(tss_eth_tx_from_json(t, strlen(t), &tx, &st), TSS_E_TOO_LARGE);
    CHECK(detail_has("does not encode within"));
    free(t);
    /* The JSON caps apply first: a file over 1 MiB. */
    sbuf b = {0};
    sb_add(&b, "{\"type\":2}");
    while (b.len <= 1024 * 1024) sb_add(&b, "                                ");
    CHECK_ERR(tss_eth_tx_from_json(b.p, b.len, &tx, &st), TSS_E_TOO_LARGE);
    CHECK(detail_has("json: document of"));
    free(b.p);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    vectors = json_load_vectors("eth-vectors.json");
    RUN(vector_transactions);
    RUN(access_list_matches_hand_built);
    RUN(refusals_name_the_key);
    RUN(defaults_and_contract_creation);
    RUN(whole_document_errors);
    RUN(caps);
    json_free(vectors);
    return harness_finish("eth_tx_json");
}
