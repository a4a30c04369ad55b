/* eth/tx: every transaction in eth-vectors.json (unsigned form, signing hash,
 * signature verify/recover, RFC6979 re-signing, signed form, decode round trip),
 * access lists, large chain ids, and the decoder's refusals. */
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "eth/address.h"
#include "eth/rlp.h"
#include "eth/sig.h"
#include "eth/tx.h"
#include "eth/u256.h"
#include "tests/unit/harness.h"
#include "tests/unit/json_lite.h"
#include "util/hex.h"
#include "util/secmem.h"

static json_value *vectors;
static secp256k1_context *sign_ctx;

static uint8_t *unhex(const char *hex, size_t *len) {
    if (!hex) abort();
    if (hex[0] == '0' && hex[1] == 'x') hex += 2;
    size_t n = strlen(hex) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b || !tss_is_ok(tss_hex_decode(b, n, hex, "test hex"))) abort();
    *len = n;
    return b;
}

static bool writer_equals(const tss_writer *w, const uint8_t *b, size_t n) {
    return w->err == TSS_OK && w->len == n && memcmp(w->data, b, n) == 0;
}

static bool detail_has(const char *s) { return strstr(tss_error_detail(), s) != NULL; }

/* The account whose address is addr_text (private key and uncompressed key). */
static bool find_account(const char *addr_text, uint8_t sk[32], uint8_t pub[65]) {
    const json_value *acc = json_get(vectors, "accounts");
    for (size_t i = 0; acc && i < acc->count; i++) {
        if (strcmp(json_str(acc->items[i], "address"), addr_text) != 0) continue;
        return tss_is_ok(tss_hex_decode(sk, 32, json_str(acc->items[i], "private_key"), "sk")) &&
               tss_is_ok(tss_hex_decode(pub, 65,
                                        json_str(acc->items[i], "public_key_uncompressed"), "pk"));
    }
    return false;
}

static const char *num_text(const json_value *o, const char *key) {
    const json_value *v = json_get(o, key);
    if (!v || (v->type != JSON_STRING && v->type != JSON_NUMBER)) abort();
    return v->string;
}

/* tss_eth_tx from a vector's "tx" object; data is malloc'd into *data. */
static void tx_from_json(const json_value *j, tss_eth_tx *tx, uint8_t **data) {
    memset(tx, 0, sizeof *tx);
    uint64_t type;
    if (!tss_is_ok(tss_eth_u64_parse(&type, num_text(j, "type"), "type"))) abort();
    tx->type = (tss_eth_tx_type)type;
    if (!tss_is_ok(tss_eth_u64_parse(&tx->chain_id, num_text(j, "chainId"), "chainId")) ||
        !tss_is_ok(tss_eth_u64_parse(&tx->nonce, num_text(j, "nonce"), "nonce")) ||
        !tss_is_ok(tss_eth_u64_parse(&tx->gas_limit, num_text(j, "gasLimit"), "gasLimit")) ||
        !tss_is_ok(tss_eth_u256_parse(tx->value, num_text(j, "value"), "value")))
        abort();
    if (tx->type == TSS_ETH_TX_LEGACY) {
        if (!tss_is_ok(tss_eth_u256_parse(tx->gas_price, num_text(j, "gasPrice"), "gasPrice")))
            abort();
    } else if (!tss_is_ok(tss_eth_u256_parse(tx->max_priority_fee_per_gas,
                                             num_text(j, "maxPriorityFeePerGas"), "prio")) ||
               !tss_is_ok(tss_eth_u256_parse(tx->max_fee_per_gas, num_text(j, "maxFeePerGas"),
                                             "fee"))) {
        abort();
    }
    const json_value *to = json_get(j, "to");
    tx->has_to = to && to->type == JSON_STRING;
    /* The vectors write "to" in EIP-55 form: parse it strictly. */
    if (tx->has_to && !tss_is_ok(tss_eth_address_parse(tx->to, to->string, NULL))) abort();
    *data = unhex(json_str(j, "data"), &tx->data_len);
    tx->data = tx->data_len ? *data : NULL;
}

static tss_eth_sig example_sig(const json_value *v) {
    const json_value *e = json_get(v, "example_signature");
    tss_eth_sig sig;
    uint64_t y, vv;
    if (!tss_is_ok(tss_hex_decode(sig.r, 32, json_str(e, "r"), "r")) ||
        !tss_is_ok(tss_hex_decode(sig.s, 32, json_str(e, "s"), "s")) ||
        !tss_is_ok(tss_eth_u64_parse(&y, num_text(e, "yParity"), "yParity")) ||
        !tss_is_ok(tss_eth_u64_parse(&vv, num_text(e, "v"), "v")))
        abort();
    sig.recid = (int)y;
    CHECK(vv == 27 + y);
    return sig;
}

static bool same_tx(const tss_eth_tx *a, const tss_eth_tx *b) {
    bool ok = a->type == b->type && a->chain_id == b->chain_id && a->nonce == b->nonce &&
              a->gas_limit == b->gas_limit && a->has_to == b->has_to &&
              (!a->has_to || memcmp(a->to, b->to, 20) == 0) && !memcmp(a->value, b->value, 32) &&
              a->data_len == b->data_len &&
              (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0) &&
              a->access_list_len == b->access_list_len;
    if (a->type == TSS_ETH_TX_LEGACY) return ok && !memcmp(a->gas_price, b->gas_price, 32);
    ok = ok && !memcmp(a->max_priority_fee_per_gas, b->max_priority_fee_per_gas, 32) &&
         !memcmp(a->max_fee_per_gas, b->max_fee_per_gas, 32);
    for (size_t i = 0; ok && i < a->access_list_len; i++) {
        const tss_eth_access_entry *x = &a->access_list[i], *y = &b->access_list[i];
        ok = !memcmp(x->address, y->address, 20) && x->storage_key_count == y->storage_key_count &&
             (x->storage_key_count == 0 ||
              !memcmp(x->storage_keys, y->storage_keys, 32 * x->storage_key_count));
    }
    return ok;
}

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

static void transaction_vectors(void) {
    const json_value *txs = json_get(vectors, "transactions");
    CHECK(txs && txs->type == JSON_ARRAY && txs->count == 4);
    for (size_t i = 0; txs && i < txs->count; i++) {
        const json_value *v = txs->items[i];
        tss_eth_tx tx;
        uint8_t *data;
        tx_from_json(json_get(v, "tx"), &tx, &data);
        size_t ulen, slen;
        uint8_t *unsigned_ser = unhex(json_str(v, "unsigned_serialized"), &ulen);
        uint8_t *signed_ser = unhex(json_str(v, "example_signed_serialized"), &slen);
        uint8_t want_hash[32], hash[32], sk[32], pub[65], signer[20], addr[20];
        CHECK_OK(tss_hex_decode(want_hash, 32, json_str(v, "signing_hash"), "hash"));
        const char *signer_text = json_str(v, "signer_address");
        CHECK(find_account(signer_text, sk, pub));
        CHECK_OK(tss_eth_address_parse(signer, signer_text, NULL));

        /* Unsigned serialisation and signing hash. */
        tss_writer w;
        tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
        CHECK_OK(tss_eth_tx_encode_unsigned(&tx, &w));
        CHECK(writer_equals(&w, unsigned_ser, ulen));
        tss_writer_free(&w);
        CHECK_OK(tss_eth_tx_signing_hash(&tx, hash));
        CHECK(memcmp(hash, want_hash, 32) == 0);

        /* The example signature verifies and recovers to the signer's address. */
        tss_eth_sig sig = example_sig(v);
        CHECK_OK(tss_eth_sig_verify(hash, &sig, pub, 65));
        CHECK_OK(tss_eth_sig_recover_address(hash, &sig, addr));
        CHECK(memcmp(addr, signer, 20) == 0);

        /* RFC6979 is deterministic: libsecp256k1 reproduces ethers' signature. */
        tss_eth_sig mine = reference_sign(hash, sk);
        CHECK(memcmp(mine.r, sig.r, 32) == 0 && memcmp(mine.s, sig.s, 32) == 0);
        CHECK(mine.recid == sig.recid);

        /* Signed serialisation, exactly. */
        tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
        CHECK_OK(tss_eth_tx_encode_signed(&tx, &mine, &w));
        CHECK(writer_equals(&w, signed_ser, slen));
        tss_writer_free(&w);

        /* Decode it back: same fields, same signature, same sender, same bytes. */
        tss_eth_signed_tx stx;
        CHECK_OK(tss_eth_tx_decode_signed(&stx, signed_ser, slen));
        CHECK(same_tx(&stx.tx, &tx));
        CHECK(memcmp(&stx.sig, &sig, sizeof sig) == 0);
        CHECK_OK(tss_eth_tx_sender(&stx, addr));
        CHECK(memcmp(addr, signer, 20) == 0);
        tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
        CHECK_OK(tss_eth_tx_encode_signed(&stx.tx, &stx.sig, &w));
        CHECK(writer_equals(&w, signed_ser, slen));
        tss_writer_free(&w);
        tss_eth_signed_tx_free(&stx);

        /* Every truncation and any extra byte is refused. */
        for (size_t cut = 0; cut < slen; cut++) {
            tss_result r = tss_eth_tx_decode_signed(&stx, signed_ser, cut);
            CHECK(!tss_is_ok(r));
            CHECK(r.err == TSS_E_TRUNCATED || cut == 0 || (cut == 1 && signed_ser[0] == 2));
            tss_eth_signed_tx_free(&stx);
        }
        uint8_t *longer = malloc(slen + 1);
        memcpy(longer, signed_ser, slen);
        longer[slen] = 0x80;
        CHECK_ERR(tss_eth_tx_decode_signed(&stx, longer, slen + 1), TSS_E_TRAILING);
        tss_eth_signed_tx_free(&stx);
        free(longer);

        /* The wrong parity recovers someone else; high-s is refused. */
        tss_eth_sig bad = sig;
        bad.recid ^= 1;
        tss_result r = tss_eth_sig_recover_address(hash, &bad, addr);
        CHECK(!tss_is_ok(r) || memcmp(addr, signer, 20) != 0);
        CHECK_ERR(tss_eth_sig_verify(hash, &bad, pub, 65), TSS_E_INVALID);
        bad = sig;
        if (!secp256k1_ec_seckey_negate(sign_ctx, bad.s)) abort();
        bad.recid ^= 1;
        tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
        CHECK_ERR(tss_eth_tx_encode_signed(&tx, &bad, &w), TSS_E_INVALID);
        CHECK(detail_has("high-s"));
        tss_writer_free(&w);

        free(unsigned_ser);
        free(signed_ser);
        free(data);
    }
}

/* A type-2 transaction from the account at index 0 of the vectors. */
static void first_account(uint8_t sk[32], uint8_t addr[20]) {
    const json_value *a = json_get(vectors, "accounts")->items[0];
    if (!tss_is_ok(tss_hex_decode(sk, 32, json_str(a, "private_key"), "sk")) ||
        !tss_is_ok(tss_eth_address_parse(addr, json_str(a, "address"), NULL)))
        abort();
}

/* Sign, encode, decode, compare, recover. */
static void sign_round_trip(const tss_eth_tx *tx) {
    uint8_t sk[32], addr[20], got[20], hash[32];
    first_account(sk, addr);
    CHECK_OK(tss_eth_tx_signing_hash(tx, hash));
    tss_eth_sig sig = reference_sign(hash, sk);
    tss_writer w;
    tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
    CHECK_OK(tss_eth_tx_encode_signed(tx, &sig, &w));
    tss_eth_signed_tx stx;
    CHECK_OK(tss_eth_tx_decode_signed(&stx, w.data, w.len));
    CHECK(same_tx(&stx.tx, tx));
    CHECK(memcmp(&stx.sig, &sig, sizeof sig) == 0);
    CHECK_OK(tss_eth_tx_sender(&stx, got));
    CHECK(memcmp(got, addr, 20) == 0);
    tss_writer w2;
    tss_writer_init(&w2, TSS_ETH_TX_MAX_SIZE + 16);
    CHECK_OK(tss_eth_tx_encode_signed(&stx.tx, &stx.sig, &w2));
    CHECK(w2.len == w.len && memcmp(w.data, w2.data, w.len) == 0);
    tss_writer_free(&w2);
    tss_eth_signed_tx_free(&stx);
    tss_writer_free(&w);
}

static void access_lists(void) {
    uint8_t keys[3][32];
    memset(keys, 0, sizeof keys);
    keys[0][31] = 1;
    keys[1][0] = 0xff;
    keys[2][31] = 7;
    tss_eth_access_entry al[2];
    memset(al, 0, sizeof al);
    memset(al[0].address, 0x11, 20);
    al[0].storage_keys = (const uint8_t(*)[32])keys;
    al[0].storage_key_count = 1;
    memset(al[1].address, 0x22, 20);
    al[1].storage_keys = NULL; /* an address without keys */
    tss_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = TSS_ETH_TX_EIP1559;
    tx.chain_id = 1;
    tx.gas_limit = 60000;
    tss_eth_u256_from_u64(tx.max_fee_per_gas, 100);
    tx.has_to = true;
    memset(tx.to, 0x33, 20);
    tx.access_list = al;
    tx.access_list_len = 1;

    /* Hand-encoded per EIP-2930: one entry [addr, [key]] has a 55-byte payload
     * (short form f7); the list around it holds 56 bytes (long form f8 38). */
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_eth_tx_encode_unsigned(&tx, &w));
    uint8_t expect[2 + 1 + 1 + 20 + 1 + 1 + 32];
    size_t k = 0;
    expect[k++] = 0xf8;
    expect[k++] = 0x38;
    expect[k++] = 0xf7;
    expect[k++] = 0x94;
    memset(expect + k, 0x11, 20), k += 20;
    expect[k++] = 0xe1;
    expect[k++] = 0xa0;
    memcpy(expect + k, keys[0], 32), k += 32;
    CHECK(k == sizeof expect);
    CHECK(w.len > sizeof expect && memcmp(w.data + w.len - sizeof expect, expect, sizeof expect) == 0);
    tss_writer_free(&w);
    sign_round_trip(&tx);

    /* Two entries, several keys, one entry without keys. */
    al[0].storage_key_count = 3;
    tx.access_list_len = 2;
    sign_round_trip(&tx);

    /* Refusals. */
    tx.type = TSS_ETH_TX_LEGACY;
    uint8_t h[32];
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("access list"));
    tx.type = TSS_ETH_TX_EIP1559;
    al[1].storage_key_count = 2; /* keys NULL */
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_USAGE);
    al[1].storage_key_count = TSS_ETH_TX_MAX_STORAGE_KEYS;
    al[1].storage_keys = (const uint8_t(*)[32])keys; /* count checked before any read */
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_TOO_LARGE);
    tx.access_list_len = TSS_ETH_TX_MAX_ACCESS_ENTRIES + 1;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_TOO_LARGE);
}

static void large_chain_ids_and_contract_creation(void) {
    static const uint64_t chains[] = {1, 56, 0xffffffffULL, 0x100000001ULL, UINT64_MAX / 2 - 36,
                                      UINT64_MAX};
    uint8_t code[300];
    memset(code, 0x60, sizeof code);
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
        for (int type = 0; type <= 2; type += 2) {
            tss_eth_tx tx;
            memset(&tx, 0, sizeof tx);
            tx.type = (tss_eth_tx_type)type;
            tx.chain_id = chains[i];
            tx.nonce = UINT64_MAX - 1;
            tx.gas_limit = 3000000;
            tss_eth_u256_from_u64(tx.gas_price, 1);
            memset(tx.value, 0xff, 32);
            tss_eth_u256_from_u64(tx.max_fee_per_gas, 1000);
            tss_eth_u256_from_u64(tx.max_priority_fee_per_gas, 1000);
            tx.has_to = false;
            tx.data = code;
            tx.data_len = sizeof code;
            sign_round_trip(&tx);
        }
    }

    /* Legacy v for chain id 2^64-1 and recid 1 is 2^65 + 35: nine bytes. */
    tss_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = TSS_ETH_TX_LEGACY;
    tx.chain_id = UINT64_MAX;
    tss_eth_sig sig;
    memset(&sig, 0, sizeof sig);
    sig.r[31] = 1;
    sig.s[31] = 2;
    sig.recid = 1;
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_OK(tss_eth_tx_encode_signed(&tx, &sig, &w));
    static const uint8_t tail[] = {0x89, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x22, 0x01, 0x02};
    CHECK(w.len > sizeof tail && memcmp(w.data + w.len - sizeof tail, tail, sizeof tail) == 0);
    tss_writer_free(&w);
}

static void invalid_transactions_are_refused(void) {
    tss_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = TSS_ETH_TX_EIP1559;
    tx.chain_id = 1;
    uint8_t h[32];
    CHECK_OK(tss_eth_tx_signing_hash(&tx, h));
    tx.chain_id = 0;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("chain id"));
    tx.chain_id = 1;
    tss_eth_u256_from_u64(tx.max_priority_fee_per_gas, 2);
    tss_eth_u256_from_u64(tx.max_fee_per_gas, 1);
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_INVALID);
    CHECK(detail_has("maxPriorityFeePerGas"));
    tss_eth_u256_from_u64(tx.max_priority_fee_per_gas, 0);
    tx.type = (tss_eth_tx_type)5;
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_UNSUPPORTED);
    tx.type = TSS_ETH_TX_EIP1559;
    tx.data_len = 1; /* data NULL */
    CHECK_ERR(tss_eth_tx_signing_hash(&tx, h), TSS_E_USAGE);
    tx.data_len = 0;
    tss_eth_sig sig;
    memset(&sig, 0, sizeof sig);
    tss_writer w;
    tss_writer_init(&w, 4096);
    CHECK_ERR(tss_eth_tx_encode_signed(&tx, &sig, &w), TSS_E_INVALID); /* r = s = 0 */
    sig.r[31] = sig.s[31] = 1;
    sig.recid = 2;
    CHECK_ERR(tss_eth_tx_encode_signed(&tx, &sig, &w), TSS_E_INVALID);
    sig.recid = 0;
    CHECK_OK(tss_eth_tx_encode_signed(&tx, &sig, &w));
    tss_writer_free(&w);
    /* The output writer's cap is honoured. */
    tss_writer_init(&w, 10);
    CHECK_ERR(tss_eth_tx_encode_signed(&tx, &sig, &w), TSS_E_TOO_LARGE);
    tss_writer_free(&w);
}

/* Build raw signed legacy transactions field by field, to break one rule at a time. */
typedef struct {
    const char *nonce, *to, *v, *r, *s; /* hex payloads of the items */
    bool nonce_raw;                     /* nonce hex is a whole raw item */
} legacy_fields;

static void put_hex_bytes(tss_writer *w, const char *hex) {
    size_t n;
    uint8_t *b = unhex(hex, &n);
    tss_rlp_put_bytes(w, b, n);
    free(b);
}

static tss_result decode_legacy(const legacy_fields *f) {
    tss_writer p, w;
    tss_writer_init(&p, 4096);
    if (f->nonce_raw) {
        size_t n;
        uint8_t *b = unhex(f->nonce, &n);
        tss_write_bytes(&p, b, n);
        free(b);
    } else {
        put_hex_bytes(&p, f->nonce);
    }
    tss_rlp_put_u64(&p, 1);     /* gasPrice */
    tss_rlp_put_u64(&p, 21000); /* gasLimit */
    put_hex_bytes(&p, f->to);
    tss_rlp_put_u64(&p, 0);       /* value */
    tss_rlp_put_bytes(&p, "", 0); /* data */
    put_hex_bytes(&p, f->v);
    put_hex_bytes(&p, f->r);
    put_hex_bytes(&p, f->s);
    tss_writer_init(&w, 4096);
    tss_rlp_put_list(&w, &p);
    tss_eth_signed_tx stx;
    tss_result res = tss_eth_tx_decode_signed(&stx, w.data, w.len);
    tss_eth_signed_tx_free(&stx);
    tss_writer_free(&p);
    tss_writer_free(&w);
    return res;
}

static void decoder_refusals(void) {
    const char *addr = "3535353535353535353535353535353535353535";
    legacy_fields ok = {"09", addr, "25", "01", "01", false};
    CHECK_OK(decode_legacy(&ok));
    legacy_fields f = ok;
    f.nonce = "0009"; /* leading zero in an integer */
    CHECK_ERR(decode_legacy(&f), TSS_E_INVALID);
    CHECK(detail_has("nonce") && detail_has("leading zero"));
    f = ok;
    f.nonce = "8109", f.nonce_raw = true; /* 9 as 0x81 0x09 */
    CHECK_ERR(decode_legacy(&f), TSS_E_INVALID);
    CHECK(detail_has("encoded as itself"));
    f = ok;
    f.to = "35353535353535353535353535353535353535"; /* 19 bytes */
    CHECK_ERR(decode_legacy(&f), TSS_E_INVALID);
    CHECK(detail_has("20 bytes or empty"));
    f = ok;
    f.v = "1b"; /* 27: pre-EIP-155, replayable across chains */
    CHECK_ERR(decode_legacy(&f), TSS_E_UNSUPPORTED);
    CHECK(detail_has("EIP-155"));
    f.v = "23"; /* 35: chain id 0 */
    CHECK_ERR(decode_legacy(&f), TSS_E_INVALID);
    f.v = "20";
    CHECK_ERR(decode_legacy(&f), TSS_E_INVALID);
    f = ok;
    f.s = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1"; /* n/2 + 1 */
    CHECK_ERR(decode_legacy(&f), TSS_E_INVALID);
    CHECK(detail_has("high-s"));
    f = ok;
    f.r = "";
    CHECK_ERR(decode_legacy(&f), TSS_E_INVALID);
    f = ok;
    f.r = "010000000000000000000000000000000000000000000000000000000000000000"; /* 33 bytes */
    CHECK_ERR(decode_legacy(&f), TSS_E_TOO_LARGE);

    /* Type bytes and envelopes. */
    tss_eth_signed_tx stx;
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, (const uint8_t *)"\x05\xc0", 2), TSS_E_UNSUPPORTED);
    CHECK(detail_has("type 0x05"));
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, (const uint8_t *)"\x7f\xc0", 2), TSS_E_UNSUPPORTED);
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, (const uint8_t *)"\x01\xc0", 2), TSS_E_TRUNCATED);
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, (const uint8_t *)"\x80", 1), TSS_E_INVALID);
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, (const uint8_t *)"\x02\x80", 2), TSS_E_INVALID);
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, (const uint8_t *)"\xc0", 1), TSS_E_TRUNCATED);
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, NULL, 0), TSS_E_TRUNCATED);

    /* Type 2 with yParity 2, and with a storage key of 31 bytes. */
    size_t n;
    uint8_t *good = unhex("02f85282053980808082cf088080826000c001a0224b59bf0bf75c073e537fabe45fe24650"
                          "054e6e6cdccb50e57b7f6620b30998a06f22a3e6e2961d0d5786b197df2412964b602245"
                          "5eb392d07b5f553593cbb538",
                          &n);
    CHECK_OK(tss_eth_tx_decode_signed(&stx, good, n));
    tss_eth_signed_tx_free(&stx);
    /* 02 f852 | 820539 80 80 80 82cf08 80 80 826000 c0 | yParity: offset 18 */
    size_t y = 3 + 3 + 1 + 1 + 1 + 3 + 1 + 1 + 3 + 1;
    CHECK(good[y - 1] == 0xc0 && good[y] == 0x01);
    good[y] = 0x02;
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, good, n), TSS_E_INVALID);
    CHECK(detail_has("yParity"));
    good[y] = 0x01;
    good[y - 1] = 0xc1; /* access list claims one more byte than it has */
    CHECK(!tss_is_ok(tss_eth_tx_decode_signed(&stx, good, n)));
    free(good);

    /* An access-list entry whose storage key is 31 bytes. */
    tss_writer p, e, k, al, w;
    tss_writer_init(&p, 4096);
    tss_writer_init(&e, 4096);
    tss_writer_init(&k, 4096);
    tss_writer_init(&al, 4096);
    tss_writer_init(&w, 4096);
    uint8_t key[32] = {1};
    tss_rlp_put_bytes(&k, key, 31);
    tss_rlp_put_bytes(&e, key, 20);
    tss_rlp_put_list(&e, &k);
    tss_rlp_put_list(&al, &e);
    for (int i = 0; i < 8; i++) tss_rlp_put_u64(&p, i == 0 ? 1 : 0); /* chainId..data */
    tss_rlp_put_list(&p, &al);
    tss_rlp_put_u64(&p, 0);
    tss_rlp_put_u64(&p, 1);
    tss_rlp_put_u64(&p, 1);
    tss_write_u8(&w, 2);
    tss_rlp_put_list(&w, &p);
    CHECK_ERR(tss_eth_tx_decode_signed(&stx, w.data, w.len), TSS_E_INVALID);
    CHECK(detail_has("storage key"));
    tss_writer_free(&p);
    tss_writer_free(&e);
    tss_writer_free(&k);
    tss_writer_free(&al);
    tss_writer_free(&w);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    secp256k1_selftest();
    sign_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    vectors = json_load_vectors("eth-vectors.json");
    RUN(transaction_vectors);
    RUN(access_lists);
    RUN(large_chain_ids_and_contract_creation);
    RUN(invalid_transactions_are_refused);
    RUN(decoder_refusals);
    json_free(vectors);
    secp256k1_context_destroy(sign_ctx);
    return harness_finish("eth_tx");
}
