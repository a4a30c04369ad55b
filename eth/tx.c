#include "eth/tx.h"

#include <stdlib.h>
#include <string.h>

#include "eth/keccak.h"
#include "eth/rlp.h"
#include "eth/u256.h"

/* ---- checks ---- */

tss_result tss_eth_tx_check(const tss_eth_tx *tx) {
    TSS_ENSURE(tx->type == TSS_ETH_TX_LEGACY || tx->type == TSS_ETH_TX_EIP1559,
               TSS_E_UNSUPPORTED, "eth tx: unsupported transaction type %d", (int)tx->type);
    /* Chain id 0 would make a signature valid on every chain (replayable). */
    TSS_ENSURE(tx->chain_id >= 1, TSS_E_INVALID, "eth tx: chain id must be at least 1");
    TSS_ENSURE(tx->data_len <= TSS_ETH_TX_MAX_SIZE, TSS_E_TOO_LARGE,
               "eth tx: data of %zu bytes exceeds %d", tx->data_len, TSS_ETH_TX_MAX_SIZE);
    TSS_ENSURE(tx->data || tx->data_len == 0, TSS_E_USAGE, "eth tx: data is NULL");
    if (tx->type == TSS_ETH_TX_LEGACY) {
        TSS_ENSURE(tx->access_list_len == 0, TSS_E_INVALID,
                   "eth tx: a legacy transaction cannot carry an access list");
        return TSS_OK_RESULT;
    }
    TSS_ENSURE(tx->access_list_len <= TSS_ETH_TX_MAX_ACCESS_ENTRIES, TSS_E_TOO_LARGE,
               "eth tx: access list of %zu entries exceeds %d", tx->access_list_len,
               TSS_ETH_TX_MAX_ACCESS_ENTRIES);
    TSS_ENSURE(tx->access_list || tx->access_list_len == 0, TSS_E_USAGE,
               "eth tx: access list is NULL");
    size_t keys = 0;
    for (size_t i = 0; i < tx->access_list_len; i++) {
        const tss_eth_access_entry *e = &tx->access_list[i];
        TSS_ENSURE(e->storage_keys || e->storage_key_count == 0, TSS_E_USAGE,
                   "eth tx: access list entry %zu: storage keys are NULL", i);
        TSS_ENSURE(e->storage_key_count <= TSS_ETH_TX_MAX_STORAGE_KEYS - keys, TSS_E_TOO_LARGE,
                   "eth tx: more than %d storage keys in the access list",
                   TSS_ETH_TX_MAX_STORAGE_KEYS);
        keys += e->storage_key_count;
    }
    /* Nodes refuse a tip above the fee cap; signing one would only waste a nonce. */
    TSS_ENSURE(tss_eth_u256_cmp(tx->max_priority_fee_per_gas, tx->max_fee_per_gas) <= 0,
               TSS_E_INVALID, "eth tx: maxPriorityFeePerGas exceeds maxFeePerGas");
    return TSS_OK_RESULT;
}

/* ---- encoding ---- */

static void put_to(tss_writer *w, const tss_eth_tx *tx) {
    tss_rlp_put_bytes(w, tx->to, tx->has_to ? sizeof tx->to : 0);
}

static void put_access_list(tss_writer *w, const tss_eth_tx *tx) {
    tss_writer list, entry, keys;
    tss_writer_init(&list, TSS_ETH_TX_MAX_SIZE);
    for (size_t i = 0; i < tx->access_list_len; i++) {
        const tss_eth_access_entry *e = &tx->access_list[i];
        tss_writer_init(&entry, TSS_ETH_TX_MAX_SIZE);
        tss_writer_init(&keys, TSS_ETH_TX_MAX_SIZE);
        tss_rlp_put_bytes(&entry, e->address, sizeof e->address);
        for (size_t k = 0; k < e->storage_key_count; k++)
            tss_rlp_put_bytes(&keys, e->storage_keys[k], 32);
        tss_rlp_put_list(&entry, &keys);
        tss_rlp_put_list(&list, &entry);
        tss_writer_free(&keys);
        tss_writer_free(&entry);
    }
    tss_rlp_put_list(w, &list);
    tss_writer_free(&list);
}

/* EIP-155 v in 128 bits, so any 64-bit chain id encodes exactly. */
static void put_eip155_v(tss_writer *w, uint64_t chain_id, int recid) {
    unsigned __int128 v = (unsigned __int128)chain_id * 2 + 35 + (unsigned)recid;
    uint8_t be[16];
    for (size_t i = 0; i < 16; i++) be[i] = (uint8_t)(v >> (8 * (15 - i)));
    tss_rlp_put_uint_be(w, be, sizeof be);
}

/* The list items; sig NULL gives the signing form. */
static void put_fields(tss_writer *p, const tss_eth_tx *tx, const tss_eth_sig *sig) {
    if (tx->type == TSS_ETH_TX_LEGACY) {
        tss_rlp_put_u64(p, tx->nonce);
        tss_rlp_put_u256(p, tx->gas_price);
        tss_rlp_put_u64(p, tx->gas_limit);
        put_to(p, tx);
        tss_rlp_put_u256(p, tx->value);
        tss_rlp_put_bytes(p, tx->data, tx->data_len);
        if (sig) {
            put_eip155_v(p, tx->chain_id, sig->recid);
            tss_rlp_put_u256(p, sig->r);
            tss_rlp_put_u256(p, sig->s);
        } else {
            /* EIP-155: chainId, 0, 0 stand in for v, r, s. */
            tss_rlp_put_u64(p, tx->chain_id);
            tss_rlp_put_u64(p, 0);
            tss_rlp_put_u64(p, 0);
        }
        return;
    }
    tss_rlp_put_u64(p, tx->chain_id);
    tss_rlp_put_u64(p, tx->nonce);
    tss_rlp_put_u256(p, tx->max_priority_fee_per_gas);
    tss_rlp_put_u256(p, tx->max_fee_per_gas);
    tss_rlp_put_u64(p, tx->gas_limit);
    put_to(p, tx);
    tss_rlp_put_u256(p, tx->value);
    tss_rlp_put_bytes(p, tx->data, tx->data_len);
    put_access_list(p, tx);
    if (sig) {
        tss_rlp_put_u64(p, (uint64_t)sig->recid);
        tss_rlp_put_u256(p, sig->r);
        tss_rlp_put_u256(p, sig->s);
    }
}

static tss_result encode(const tss_eth_tx *tx, const tss_eth_sig *sig, tss_writer *out) {
    TSS_GUARD(tss_eth_tx_check(tx));
    if (sig) TSS_GUARD(tss_eth_sig_check(sig));
    tss_writer payload;
    tss_writer_init(&payload, TSS_ETH_TX_MAX_SIZE);
    put_fields(&payload, tx, sig);
    if (tx->type == TSS_ETH_TX_EIP1559) tss_write_u8(out, TSS_ETH_TX_EIP1559);
    tss_rlp_put_list(out, &payload);
    tss_writer_free(&payload);
    return tss_writer_status(out, "eth tx encoding");
}

tss_result tss_eth_tx_encode_unsigned(const tss_eth_tx *tx, tss_writer *out) {
    return encode(tx, NULL, out);
}

tss_result tss_eth_tx_encode_signed(const tss_eth_tx *tx, const tss_eth_sig *sig,
                                    tss_writer *out) {
    return encode(tx, sig, out);
}

tss_result tss_eth_tx_signing_hash(const tss_eth_tx *tx, uint8_t out[32]) {
    tss_writer w;
    tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 16);
    tss_result res = tss_eth_tx_encode_unsigned(tx, &w);
    if (tss_is_ok(res)) res = tss_keccak256(out, w.data, w.len);
    tss_writer_free(&w);
    return res;
}

/* ---- decoding ---- */

static tss_result read_to(tss_reader *f, tss_eth_tx *tx) {
    const uint8_t *p;
    size_t n;
    TSS_GUARD(tss_rlp_read_string(f, sizeof tx->to, &p, &n, "to"));
    TSS_ENSURE(n == 0 || n == sizeof tx->to, TSS_E_INVALID,
               "eth tx: to must be 20 bytes or empty, got %zu", n);
    tx->has_to = n != 0;
    if (n) memcpy(tx->to, p, n);
    return TSS_OK_RESULT;
}

static tss_result read_data(tss_reader *f, tss_eth_tx *tx) {
    return tss_rlp_read_string(f, TSS_ETH_TX_MAX_SIZE, &tx->data, &tx->data_len, "data");
}

/* One walk over an access list: counts when entries/keys are NULL, fills otherwise. */
static tss_result walk_access_list(tss_reader *f, tss_eth_access_entry *entries,
                                   uint8_t (*keys)[32], size_t *n_entries, size_t *n_keys) {
    tss_reader list, entry, klist;
    size_t ne = 0, nk = 0;
    TSS_GUARD(tss_rlp_read_list(f, &list, "accessList"));
    while (tss_reader_remaining(&list) > 0) {
        TSS_ENSURE(ne < TSS_ETH_TX_MAX_ACCESS_ENTRIES, TSS_E_TOO_LARGE,
                   "eth tx: access list has more than %d entries", TSS_ETH_TX_MAX_ACCESS_ENTRIES);
        uint8_t addr[20];
        TSS_GUARD(tss_rlp_read_list(&list, &entry, "accessList entry"));
        TSS_GUARD(tss_rlp_read_fixed(&entry, addr, sizeof addr, "accessList address"));
        TSS_GUARD(tss_rlp_read_list(&entry, &klist, "storageKeys"));
        size_t first = nk;
        while (tss_reader_remaining(&klist) > 0) {
            TSS_ENSURE(nk < TSS_ETH_TX_MAX_STORAGE_KEYS, TSS_E_TOO_LARGE,
                       "eth tx: access list has more than %d storage keys",
                       TSS_ETH_TX_MAX_STORAGE_KEYS);
            uint8_t key[32];
            TSS_GUARD(tss_rlp_read_fixed(&klist, key, sizeof key, "storage key"));
            if (keys) memcpy(keys[nk], key, sizeof key);
            nk++;
        }
        TSS_GUARD(tss_rlp_end_list(&entry, &klist, "storageKeys"));
        TSS_GUARD(tss_rlp_end_list(&list, &entry, "accessList entry"));
        if (entries) {
            memcpy(entries[ne].address, addr, sizeof addr);
            entries[ne].storage_keys = nk > first ? (const uint8_t(*)[32])keys + first : NULL;
            entries[ne].storage_key_count = nk - first;
        }
        ne++;
    }
    TSS_GUARD(tss_rlp_end_list(f, &list, "accessList"));
    *n_entries = ne;
    *n_keys = nk;
    return TSS_OK_RESULT;
}

static tss_result read_access_list(tss_reader *f, tss_eth_signed_tx *t) {
    size_t ne, nk;
    tss_reader probe = *f; /* first pass only counts, so allocation is exact */
    TSS_GUARD(walk_access_list(&probe, NULL, NULL, &ne, &nk));
    if (ne) {
        t->entries_ = calloc(ne, sizeof *t->entries_);
        TSS_ENSURE(t->entries_, TSS_E_NOMEM, "eth tx: access list allocation");
    }
    if (nk) {
        t->keys_ = calloc(nk, sizeof *t->keys_);
        TSS_ENSURE(t->keys_, TSS_E_NOMEM, "eth tx: storage key allocation");
    }
    TSS_GUARD(walk_access_list(f, t->entries_, t->keys_, &ne, &nk));
    t->tx.access_list = t->entries_;
    t->tx.access_list_len = ne;
    return TSS_OK_RESULT;
}

static tss_result decode_legacy(tss_eth_signed_tx *t, const uint8_t *raw, size_t len) {
    tss_eth_tx *tx = &t->tx;
    tss_reader r, f;
    tss_reader_init(&r, raw, len);
    tx->type = TSS_ETH_TX_LEGACY;
    TSS_GUARD(tss_rlp_read_list(&r, &f, "legacy tx"));
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->nonce, "nonce"));
    TSS_GUARD(tss_rlp_read_u256(&f, tx->gas_price, "gasPrice"));
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->gas_limit, "gasLimit"));
    TSS_GUARD(read_to(&f, tx));
    TSS_GUARD(tss_rlp_read_u256(&f, tx->value, "value"));
    TSS_GUARD(read_data(&f, tx));
    uint8_t vb[16];
    TSS_GUARD(tss_rlp_read_uint_be(&f, vb, sizeof vb, "v"));
    TSS_GUARD(tss_rlp_read_u256(&f, t->sig.r, "r"));
    TSS_GUARD(tss_rlp_read_u256(&f, t->sig.s, "s"));
    TSS_GUARD(tss_rlp_end_list(&r, &f, "legacy tx"));
    TSS_GUARD(tss_reader_finish(&r, "legacy tx"));

    unsigned __int128 v = 0;
    for (size_t i = 0; i < sizeof vb; i++) v = (v << 8) | vb[i];
    TSS_ENSURE(v != 27 && v != 28, TSS_E_UNSUPPORTED,
               "eth tx: legacy transaction without EIP-155 chain id (v = %u)", (unsigned)v);
    TSS_ENSURE(v >= 37, TSS_E_INVALID, "eth tx: v = %u is not an EIP-155 value", (unsigned)v);
    unsigned __int128 chain = (v - 35) / 2;
    TSS_ENSURE(chain <= UINT64_MAX, TSS_E_TOO_LARGE, "eth tx: chain id exceeds 2^64-1");
    tx->chain_id = (uint64_t)chain;
    t->sig.recid = (int)((v - 35) & 1);
    return TSS_OK_RESULT;
}

static tss_result decode_eip1559(tss_eth_signed_tx *t, const uint8_t *raw, size_t len) {
    tss_eth_tx *tx = &t->tx;
    tss_reader r, f;
    tss_reader_init(&r, raw, len);
    tx->type = TSS_ETH_TX_EIP1559;
    TSS_GUARD(tss_rlp_read_list(&r, &f, "type-2 tx"));
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->chain_id, "chainId"));
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->nonce, "nonce"));
    TSS_GUARD(tss_rlp_read_u256(&f, tx->max_priority_fee_per_gas, "maxPriorityFeePerGas"));
    TSS_GUARD(tss_rlp_read_u256(&f, tx->max_fee_per_gas, "maxFeePerGas"));
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->gas_limit, "gasLimit"));
    TSS_GUARD(read_to(&f, tx));
    TSS_GUARD(tss_rlp_read_u256(&f, tx->value, "value"));
    TSS_GUARD(read_data(&f, tx));
    TSS_GUARD(read_access_list(&f, t));
    uint64_t y;
    TSS_GUARD(tss_rlp_read_u64(&f, &y, "yParity"));
    TSS_GUARD(tss_rlp_read_u256(&f, t->sig.r, "r"));
    TSS_GUARD(tss_rlp_read_u256(&f, t->sig.s, "s"));
    TSS_GUARD(tss_rlp_end_list(&r, &f, "type-2 tx"));
    TSS_GUARD(tss_reader_finish(&r, "type-2 tx"));
    TSS_ENSURE(y <= 1, TSS_E_INVALID, "eth tx: yParity must be 0 or 1");
    t->sig.recid = (int)y;
    return TSS_OK_RESULT;
}

void tss_eth_signed_tx_free(tss_eth_signed_tx *stx) {
    free(stx->entries_);
    free(stx->keys_);
    memset(stx, 0, sizeof *stx);
}

tss_result tss_eth_tx_decode_signed(tss_eth_signed_tx *out, const uint8_t *raw, size_t len) {
    memset(out, 0, sizeof *out);
    TSS_ENSURE(len > 0, TSS_E_TRUNCATED, "eth tx: empty input");
    TSS_ENSURE(len <= TSS_ETH_TX_MAX_SIZE + 1, TSS_E_TOO_LARGE,
               "eth tx: %zu bytes exceeds %d", len, TSS_ETH_TX_MAX_SIZE);
    tss_eth_signed_tx t;
    memset(&t, 0, sizeof t);
    tss_result res;
    if (raw[0] >= 0xc0)
        res = decode_legacy(&t, raw, len);
    else if (raw[0] == TSS_ETH_TX_EIP1559)
        res = decode_eip1559(&t, raw + 1, len - 1);
    else if (raw[0] <= 0x7f)
        res = tss_fail(TSS_E_UNSUPPORTED, "eth tx: transaction type 0x%02x not supported", raw[0]);
    else
        res = tss_fail(TSS_E_INVALID, "eth tx: neither a typed transaction nor an RLP list");
    if (tss_is_ok(res)) res = tss_eth_tx_check(&t.tx);
    if (tss_is_ok(res)) res = tss_eth_sig_check(&t.sig);
    if (!tss_is_ok(res)) {
        tss_eth_signed_tx_free(&t);
        return res;
    }
    *out = t;
    return TSS_OK_RESULT;
}

tss_result tss_eth_tx_sender(const tss_eth_signed_tx *stx, uint8_t address[20]) {
    uint8_t h[32];
    TSS_GUARD(tss_eth_tx_signing_hash(&stx->tx, h));
    return tss_eth_sig_recover_address(h, &stx->sig, address);
}
