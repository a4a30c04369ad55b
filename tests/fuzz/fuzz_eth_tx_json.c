/* Fuzz transaction files: any input either fails cleanly (with a message and
 * nothing held) or yields a transaction that passes tss_eth_tx_check and
 * hashes, and that written back as a transaction file (0x hex quantities,
 * keys in another order; every type 0-4 field) parses to the same signing
 * hash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/tx.h"
#include "eth/tx_json.h"
#include "util/hex.h"

static void die(const char *why) {
    fprintf(stderr, "fuzz_eth_tx_json: %s\n", why);
    abort();
}

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("oom");
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void put_hex(sbuf *b, const uint8_t *d, size_t n) {
    char *h = malloc(2 * n + 1);
    if (!h) die("oom");
    tss_hex_encode(h, d, n);
    put(b, "\"0x");
    put(b, h);
    put(b, "\"");
    free(h);
}

static void put_u64(sbuf *b, const char *key, uint64_t v) {
    char t[64];
    snprintf(t, sizeof t, "\"%s\": \"0x%llx\", ", key, (unsigned long long)v);
    put(b, t);
}

static void put_q(sbuf *b, const char *key, const uint8_t q[32]) {
    put(b, "\"");
    put(b, key);
    put(b, "\": ");
    put_hex(b, q, 32);
    put(b, ", ");
}

static char *write_back(const tss_eth_tx *tx) {
    sbuf b = {0};
    put(&b, "{\n");
    if (tx->data_len) {
        put(&b, "\"data\": ");
        put_hex(&b, tx->data, tx->data_len);
        put(&b, ", ");
    }
    put_q(&b, "value", tx->value);
    if (tx->has_to) {
        put(&b, "\"to\": ");
        put_hex(&b, tx->to, 20);
        put(&b, ", ");
    } else {
        put(&b, "\"to\": null, ");
    }
    if (tx->type <= TSS_ETH_TX_EIP2930) {
        put_q(&b, "gasPrice", tx->gas_price);
    } else {
        put_q(&b, "maxFeePerGas", tx->max_fee_per_gas);
        put_q(&b, "maxPriorityFeePerGas", tx->max_priority_fee_per_gas);
    }
    if (tx->type != TSS_ETH_TX_LEGACY) {
        put(&b, "\"accessList\": [");
        for (size_t i = 0; i < tx->access_list_len; i++) {
            const tss_eth_access_entry *e = &tx->access_list[i];
            put(&b, i ? ", {\"storageKeys\": [" : "{\"storageKeys\": [");
            for (size_t k = 0; k < e->storage_key_count; k++) {
                if (k) put(&b, ",");
                put_hex(&b, e->storage_keys[k], 32);
            }
            put(&b, "], \"address\": ");
            put_hex(&b, e->address, 20);
            put(&b, "}");
        }
        put(&b, "], ");
    }
    if (tx->type == TSS_ETH_TX_EIP4844) {
        put_q(&b, "maxFeePerBlobGas", tx->max_fee_per_blob_gas);
        put(&b, "\"blobVersionedHashes\": [");
        for (size_t i = 0; i < tx->blob_hash_count; i++) {
            if (i) put(&b, ",");
            put_hex(&b, tx->blob_hashes[i], 32);
        }
        put(&b, "], ");
    }
    if (tx->type == TSS_ETH_TX_EIP7702) {
        put(&b, "\"authorizationList\": [");
        for (size_t i = 0; i < tx->authorization_count; i++) {
            const tss_eth_authorization *a = &tx->authorizations[i];
            char t[64];
            put(&b, i ? ", {" : "{");
            put_q(&b, "s", a->s);
            put_q(&b, "r", a->r);
            snprintf(t, sizeof t, "\"yParity\": %u, ", a->y_parity);
            put(&b, t);
            put_u64(&b, "nonce", a->nonce);
            put(&b, "\"address\": ");
            put_hex(&b, a->address, 20);
            put(&b, ", ");
            put_q(&b, "chainId", a->chain_id);
            b.len -= 2; /* drop the last ", " */
            b.p[b.len] = '\0';
            put(&b, "}");
        }
        put(&b, "], ");
    }
    put_u64(&b, "gasLimit", tx->gas_limit);
    put_u64(&b, "nonce", tx->nonce);
    put_u64(&b, "chainId", tx->chain_id);
    char t[32];
    snprintf(t, sizeof t, "\"type\": %d\n}", (int)tx->type);
    put(&b, t);
    return b.p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_eth_tx tx;
    tss_eth_tx_storage st;
    tss_result r = tss_eth_tx_from_json((const char *)data, size, &tx, &st);
    if (!tss_is_ok(r)) {
        if (st.data || st.entries || st.keys || st.blob_hashes || st.auths)
            die("storage held after failure");
        if (!tss_error_detail()[0]) die("no message");
        return 0;
    }
    uint8_t h1[32], h2[32];
    if (!tss_is_ok(tss_eth_tx_check(&tx))) die("check");
    if (!tss_is_ok(tss_eth_tx_signing_hash(&tx, h1))) die("hash");
    char *text = write_back(&tx);
    tss_eth_tx tx2;
    tss_eth_tx_storage st2;
    if (!tss_is_ok(tss_eth_tx_from_json(text, strlen(text), &tx2, &st2))) {
        fprintf(stderr, "%s\n%s\n", tss_error_detail(), text);
        die("write-back refused");
    }
    if (!tss_is_ok(tss_eth_tx_signing_hash(&tx2, h2)) || memcmp(h1, h2, 32) != 0)
        die("write-back hashes differently");
    tss_eth_tx_storage_free(&st2);
    free(text);
    tss_eth_tx_storage_free(&st);
    return 0;
}
