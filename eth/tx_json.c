#include "eth/tx_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/address.h"
#include "eth/u256.h"
#include "util/hex.h"
#include "util/json.h"

/* The keys a transaction object may carry, by type (ethers field names). */
static const char *const legacy_keys[] = {"type", "chainId", "nonce", "gasPrice", "gasLimit",
                                          "to",   "value",   "data"};
static const char *const eip2930_keys[] = {"type", "chainId", "nonce", "gasPrice",  "gasLimit",
                                           "to",   "value",   "data",  "accessList"};
static const char *const eip1559_keys[] = {
    "type", "chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gasLimit",
    "to",   "value",   "data",  "accessList"};
static const char *const eip4844_keys[] = {
    "type",  "chainId", "nonce",      "maxPriorityFeePerGas", "maxFeePerGas",
    "gasLimit", "to",   "value",      "data",                 "accessList",
    "maxFeePerBlobGas", "blobVersionedHashes"};
static const char *const eip7702_keys[] = {
    "type", "chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas",     "gasLimit",
    "to",   "value",   "data",  "accessList",           "authorizationList"};
static const char *const entry_keys[] = {"address", "storageKeys"};
static const char *const auth_keys[] = {"chainId", "address", "nonce", "yParity", "r", "s"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Re-raise the failure just reported by a text parser (eth/u256, eth/address)
 * under v's key path, dropping the empty `what` prefix it was given. */
static tss_result at_value(const tss_json_value *v, tss_result r) {
    char detail[256];
    const char *d = tss_error_detail();
    if (d[0] == ':' && d[1] == ' ') d += 2;
    snprintf(detail, sizeof detail, "%s", d);
    return tss_json_fail(r.err, v, "%s", detail);
}

/* A quantity: a JSON integer, or a string holding a decimal or 0x-hex number.
 * Exactly one of out256 / out64 is set. */
static tss_result quantity(const tss_json_value *v, uint8_t out256[32], uint64_t *out64) {
    const char *text;
    if (v->type == TSS_JSON_NUMBER) {
        text = v->u.str.text;
        for (const char *c = text; *c; c++)
            if (*c < '0' || *c > '9')
                return tss_json_fail(TSS_E_INVALID, v,
                                     "expected a non-negative integer without fraction or "
                                     "exponent, found %s",
                                     text);
    } else if (v->type == TSS_JSON_STRING) {
        TSS_GUARD(tss_json_as_string(v, &text, NULL));
    } else {
        return tss_json_fail(TSS_E_INVALID, v,
                             "expected an integer or a string (decimal or 0x hex), found %s",
                             tss_json_type_name(v->type));
    }
    tss_result r = out64 ? tss_eth_u64_parse(out64, text, "") : tss_eth_u256_parse(out256, text, "");
    return tss_is_ok(r) ? r : at_value(v, r);
}

static tss_result required_u64(const tss_json_value *obj, const char *key, uint64_t *out) {
    const tss_json_value *v = tss_json_get(obj, key);
    if (!v) return tss_json_fail_key(TSS_E_INVALID, obj, key, "required key is missing");
    return quantity(v, NULL, out);
}

static tss_result required_u256(const tss_json_value *obj, const char *key, uint8_t out[32]) {
    const tss_json_value *v = tss_json_get(obj, key);
    if (!v) return tss_json_fail_key(TSS_E_INVALID, obj, key, "required key is missing");
    return quantity(v, out, NULL);
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "0x" then an even number of hex digits; *digits points past the prefix. */
static tss_result hex_text(const tss_json_value *v, const char **digits, size_t *bytes) {
    const char *s;
    size_t len;
    TSS_GUARD(tss_json_as_string(v, &s, &len));
    if (len < 2 || s[0] != '0' || s[1] != 'x')
        return tss_json_fail(TSS_E_INVALID, v, "hex must start with \"0x\"");
    for (size_t i = 2; i < len; i++)
        if (hex_digit(s[i]) < 0)
            return tss_json_fail(TSS_E_INVALID, v, "invalid hex digit at position %zu", i);
    if ((len - 2) % 2)
        return tss_json_fail(TSS_E_INVALID, v,
                             "hex has an odd number of digits (%zu): each byte is two digits",
                             len - 2);
    *digits = s + 2;
    *bytes = (len - 2) / 2;
    return TSS_OK_RESULT;
}

static void unhex(uint8_t *out, const char *digits, size_t bytes) {
    for (size_t i = 0; i < bytes; i++)
        out[i] = (uint8_t)(hex_digit(digits[2 * i]) << 4 | hex_digit(digits[2 * i + 1]));
}

static tss_result address(const tss_json_value *v, uint8_t out[20]) {
    const char *s;
    TSS_GUARD(tss_json_as_string(v, &s, NULL));
    tss_result r = tss_eth_address_parse(out, s, NULL);
    return tss_is_ok(r) ? r : at_value(v, r);
}

static tss_result parse_data(const tss_json_value *root, tss_eth_tx *tx, tss_eth_tx_storage *st) {
    const tss_json_value *v = tss_json_get(root, "data");
    if (!v) return TSS_OK_RESULT; /* no calldata */
    const char *digits;
    size_t n;
    TSS_GUARD(hex_text(v, &digits, &n));
    if (n > TSS_ETH_TX_MAX_SIZE)
        return tss_json_fail(TSS_E_TOO_LARGE, v, "%zu bytes of data exceed the limit of %d", n,
                             TSS_ETH_TX_MAX_SIZE);
    if (n == 0) return TSS_OK_RESULT;
    st->data = malloc(n);
    TSS_ENSURE(st->data, TSS_E_NOMEM, "eth tx json: out of memory");
    unhex(st->data, digits, n);
    tx->data = st->data;
    tx->data_len = n;
    return TSS_OK_RESULT;
}

static tss_result parse_access_list(const tss_json_value *root, tss_eth_tx *tx,
                                    tss_eth_tx_storage *st) {
    const tss_json_value *list = tss_json_get(root, "accessList");
    if (!list) return TSS_OK_RESULT;
    TSS_GUARD(tss_json_expect(list, TSS_JSON_ARRAY));
    size_t n = list->u.arr.count;
    if (n > TSS_ETH_TX_MAX_ACCESS_ENTRIES)
        return tss_json_fail(TSS_E_TOO_LARGE, list, "%zu entries exceed the limit of %d", n,
                             TSS_ETH_TX_MAX_ACCESS_ENTRIES);
    if (n == 0) return TSS_OK_RESULT;
    /* Shape first, so the key total is known before allocating. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const tss_json_value *e = tss_json_at(list, i), *keys;
        TSS_GUARD(tss_json_expect(e, TSS_JSON_OBJECT));
        TSS_GUARD(tss_json_check_keys(e, entry_keys, COUNT(entry_keys)));
        TSS_GUARD(tss_json_get_required(e, "storageKeys", TSS_JSON_ARRAY, &keys));
        if (keys->u.arr.count > TSS_ETH_TX_MAX_STORAGE_KEYS - total)
            return tss_json_fail(TSS_E_TOO_LARGE, keys,
                                 "more than %d storage keys in the access list in total",
                                 TSS_ETH_TX_MAX_STORAGE_KEYS);
        total += keys->u.arr.count;
    }
    st->entries = calloc(n, sizeof *st->entries);
    st->keys = total ? calloc(total, sizeof *st->keys) : NULL;
    TSS_ENSURE(st->entries && (st->keys || !total), TSS_E_NOMEM, "eth tx json: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const tss_json_value *e = tss_json_at(list, i), *a, *keys;
        TSS_GUARD(tss_json_get_required(e, "address", TSS_JSON_STRING, &a));
        TSS_GUARD(address(a, st->entries[i].address));
        TSS_GUARD(tss_json_get_required(e, "storageKeys", TSS_JSON_ARRAY, &keys));
        st->entries[i].storage_keys = keys->u.arr.count ? &st->keys[k] : NULL;
        st->entries[i].storage_key_count = keys->u.arr.count;
        for (size_t j = 0; j < keys->u.arr.count; j++) {
            const tss_json_value *key = tss_json_at(keys, j);
            const char *digits;
            size_t bytes;
            TSS_GUARD(tss_json_expect(key, TSS_JSON_STRING));
            TSS_GUARD(hex_text(key, &digits, &bytes));
            if (bytes != 32)
                return tss_json_fail(TSS_E_INVALID, key,
                                     "a storage key is \"0x\" and 64 hex digits, found %zu digits",
                                     2 * bytes);
            unhex(st->keys[k++], digits, 32);
        }
    }
    tx->access_list = st->entries;
    tx->access_list_len = n;
    return TSS_OK_RESULT;
}

static tss_result forbid(const tss_json_value *root, const char *key, const char *why) {
    if (!tss_json_get(root, key)) return TSS_OK_RESULT;
    return tss_json_fail_key(TSS_E_INVALID, root, key, "%s", why);
}

/* "0x" + 64 hex digits. */
static tss_result word32(const tss_json_value *v, uint8_t out[32], const char *what) {
    const char *digits;
    size_t bytes;
    TSS_GUARD(tss_json_expect(v, TSS_JSON_STRING));
    TSS_GUARD(hex_text(v, &digits, &bytes));
    if (bytes != 32)
        return tss_json_fail(TSS_E_INVALID, v,
                             "%s is \"0x\" and 64 hex digits, found %zu digits", what, 2 * bytes);
    unhex(out, digits, 32);
    return TSS_OK_RESULT;
}

static tss_result parse_blob_fields(const tss_json_value *root, tss_eth_tx *tx,
                                    tss_eth_tx_storage *st) {
    const tss_json_value *list;
    TSS_GUARD(required_u256(root, "maxFeePerBlobGas", tx->max_fee_per_blob_gas));
    TSS_GUARD(tss_json_get_required(root, "blobVersionedHashes", TSS_JSON_ARRAY, &list));
    size_t n = list->u.arr.count;
    if (n == 0)
        return tss_json_fail(TSS_E_INVALID, list,
                             "a type 3 transaction needs at least one blob versioned hash");
    if (n > TSS_ETH_TX_MAX_BLOB_HASHES)
        return tss_json_fail(TSS_E_TOO_LARGE, list, "%zu hashes exceed the limit of %d", n,
                             TSS_ETH_TX_MAX_BLOB_HASHES);
    st->blob_hashes = calloc(n, sizeof *st->blob_hashes);
    TSS_ENSURE(st->blob_hashes, TSS_E_NOMEM, "eth tx json: out of memory");
    for (size_t i = 0; i < n; i++) {
        const tss_json_value *h = tss_json_at(list, i);
        TSS_GUARD(word32(h, st->blob_hashes[i], "a blob versioned hash"));
        if (st->blob_hashes[i][0] != TSS_ETH_BLOB_HASH_VERSION)
            return tss_json_fail(TSS_E_INVALID, h,
                                 "version byte 0x%02x: a blob versioned hash starts with 0x01",
                                 st->blob_hashes[i][0]);
    }
    tx->blob_hashes = (const uint8_t(*)[32])st->blob_hashes;
    tx->blob_hash_count = n;
    return TSS_OK_RESULT;
}

static tss_result parse_authorizations(const tss_json_value *root, tss_eth_tx *tx,
                                       tss_eth_tx_storage *st) {
    const tss_json_value *list;
    TSS_GUARD(tss_json_get_required(root, "authorizationList", TSS_JSON_ARRAY, &list));
    size_t n = list->u.arr.count;
    if (n == 0)
        return tss_json_fail(TSS_E_INVALID, list,
                             "a type 4 transaction needs at least one authorization");
    if (n > TSS_ETH_TX_MAX_AUTHORIZATIONS)
        return tss_json_fail(TSS_E_TOO_LARGE, list, "%zu authorizations exceed the limit of %d",
                             n, TSS_ETH_TX_MAX_AUTHORIZATIONS);
    st->auths = calloc(n, sizeof *st->auths);
    TSS_ENSURE(st->auths, TSS_E_NOMEM, "eth tx json: out of memory");
    for (size_t i = 0; i < n; i++) {
        const tss_json_value *e = tss_json_at(list, i), *a;
        tss_eth_authorization *au = &st->auths[i];
        uint64_t y;
        TSS_GUARD(tss_json_expect(e, TSS_JSON_OBJECT));
        TSS_GUARD(tss_json_check_keys(e, auth_keys, COUNT(auth_keys)));
        TSS_GUARD(required_u256(e, "chainId", au->chain_id)); /* 0: any chain, allowed */
        TSS_GUARD(tss_json_get_required(e, "address", TSS_JSON_STRING, &a));
        TSS_GUARD(address(a, au->address));
        TSS_GUARD(required_u64(e, "nonce", &au->nonce));
        TSS_GUARD(required_u64(e, "yParity", &y));
        if (y > 255)
            return tss_json_fail(TSS_E_INVALID, tss_json_get(e, "yParity"),
                                 "must fit in a byte (0 or 1 for a valid signature)");
        au->y_parity = (uint8_t)y;
        TSS_GUARD(required_u256(e, "r", au->r));
        TSS_GUARD(required_u256(e, "s", au->s));
    }
    tx->authorizations = st->auths;
    tx->authorization_count = n;
    return TSS_OK_RESULT;
}

static tss_result parse_tx(const tss_json_value *root, tss_eth_tx *tx, tss_eth_tx_storage *st) {
    TSS_GUARD(tss_json_expect(root, TSS_JSON_OBJECT));
    uint64_t type;
    TSS_GUARD(required_u64(root, "type", &type));
    if (type > TSS_ETH_TX_EIP7702)
        return tss_json_fail(TSS_E_UNSUPPORTED, tss_json_get(root, "type"),
                             "unsupported transaction type %llu (0: legacy with EIP-155, "
                             "1: EIP-2930, 2: EIP-1559, 3: EIP-4844, 4: EIP-7702)",
                             (unsigned long long)type);
    tx->type = (tss_eth_tx_type)type;
    bool fee_market = tx->type >= TSS_ETH_TX_EIP1559;
    char why[80];
    static const char *const names[] = {"legacy", "EIP-2930", "EIP-1559", "EIP-4844", "EIP-7702"};
    snprintf(why, sizeof why, "not allowed in a type %d (%s) transaction", (int)tx->type,
             names[tx->type]);
    if (!fee_market) {
        TSS_GUARD(forbid(root, "maxFeePerGas", why));
        TSS_GUARD(forbid(root, "maxPriorityFeePerGas", why));
    } else {
        TSS_GUARD(forbid(root, "gasPrice",
                         "not allowed in a type 2, 3 or 4 transaction (use maxFeePerGas and "
                         "maxPriorityFeePerGas)"));
    }
    if (tx->type == TSS_ETH_TX_LEGACY) TSS_GUARD(forbid(root, "accessList", why));
    if (tx->type != TSS_ETH_TX_EIP4844) {
        TSS_GUARD(forbid(root, "maxFeePerBlobGas", why));
        TSS_GUARD(forbid(root, "blobVersionedHashes", why));
    }
    if (tx->type != TSS_ETH_TX_EIP7702) TSS_GUARD(forbid(root, "authorizationList", why));
    static const struct {
        const char *const *keys;
        size_t count;
    } allowed[] = {{legacy_keys, COUNT(legacy_keys)},
                   {eip2930_keys, COUNT(eip2930_keys)},
                   {eip1559_keys, COUNT(eip1559_keys)},
                   {eip4844_keys, COUNT(eip4844_keys)},
                   {eip7702_keys, COUNT(eip7702_keys)}};
    TSS_GUARD(tss_json_check_keys(root, allowed[tx->type].keys, allowed[tx->type].count));

    TSS_GUARD(required_u64(root, "chainId", &tx->chain_id));
    if (tx->chain_id == 0)
        return tss_json_fail(TSS_E_INVALID, tss_json_get(root, "chainId"),
                             "must be at least 1 (a chain id of 0 is valid on every chain)");
    TSS_GUARD(required_u64(root, "nonce", &tx->nonce));
    TSS_GUARD(required_u64(root, "gasLimit", &tx->gas_limit));
    if (!fee_market) {
        TSS_GUARD(required_u256(root, "gasPrice", tx->gas_price));
    } else {
        TSS_GUARD(required_u256(root, "maxPriorityFeePerGas", tx->max_priority_fee_per_gas));
        TSS_GUARD(required_u256(root, "maxFeePerGas", tx->max_fee_per_gas));
        if (tss_eth_u256_cmp(tx->max_priority_fee_per_gas, tx->max_fee_per_gas) > 0) {
            char tip[TSS_ETH_U256_DEC_SIZE], cap[TSS_ETH_U256_DEC_SIZE];
            tss_eth_u256_to_dec(tip, tx->max_priority_fee_per_gas);
            tss_eth_u256_to_dec(cap, tx->max_fee_per_gas);
            return tss_json_fail(TSS_E_INVALID, tss_json_get(root, "maxPriorityFeePerGas"),
                                 "%s exceeds maxFeePerGas %s", tip, cap);
        }
    }

    const tss_json_value *to = tss_json_get(root, "to");
    tx->has_to = to && to->type != TSS_JSON_NULL; /* absent or null: contract creation */
    if (tx->has_to) TSS_GUARD(address(to, tx->to));
    if (!tx->has_to && tx->type >= TSS_ETH_TX_EIP4844)
        return tss_json_fail_key(TSS_E_INVALID, root, "to",
                                 "required in a type %d transaction (it cannot create a contract)",
                                 (int)tx->type);

    const tss_json_value *value = tss_json_get(root, "value");
    if (value) TSS_GUARD(quantity(value, tx->value, NULL));
    TSS_GUARD(parse_data(root, tx, st));
    if (tx->type != TSS_ETH_TX_LEGACY) TSS_GUARD(parse_access_list(root, tx, st));
    if (tx->type == TSS_ETH_TX_EIP4844) TSS_GUARD(parse_blob_fields(root, tx, st));
    if (tx->type == TSS_ETH_TX_EIP7702) TSS_GUARD(parse_authorizations(root, tx, st));
    TSS_GUARD(tss_eth_tx_check(tx));
    /* Refuse now what could not be signed later: the serialisation must fit
     * the encoder's cap (geth's txMaxSize). */
    tss_writer w;
    tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
    tss_result r = tss_eth_tx_encode_unsigned(tx, &w);
    tss_writer_free(&w);
    if (r.err == TSS_E_TOO_LARGE)
        return tss_json_fail(r.err, root,
                             "the transaction does not encode within %d bytes (data and access "
                             "list too large)",
                             TSS_ETH_TX_MAX_SIZE);
    return r;
}

void tss_eth_tx_storage_free(tss_eth_tx_storage *st) {
    if (!st) return;
    free(st->data);
    free(st->entries);
    free(st->keys);
    free(st->blob_hashes);
    free(st->auths);
    memset(st, 0, sizeof *st);
}

tss_result tss_eth_tx_from_json(const char *text, size_t len, tss_eth_tx *out,
                                tss_eth_tx_storage *storage) {
    memset(storage, 0, sizeof *storage);
    tss_json_doc *doc;
    TSS_GUARD(tss_json_parse(&doc, text, len, NULL));
    tss_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tss_result r = parse_tx(tss_json_root(doc), &tx, storage);
    tss_json_free(doc);
    if (!tss_is_ok(r)) {
        tss_eth_tx_storage_free(storage);
        return r;
    }
    *out = tx;
    return TSS_OK_RESULT;
}
