#include "eth/tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/keccak.h"
#include "eth/rlp.h"
#include "eth/u256.h"

/* ---- checks ---- */

static bool is_zero32(const uint8_t v[32]) {
    uint8_t acc = 0;
    for (size_t i = 0; i < 32; i++) acc |= v[i];
    return acc == 0;
}

static bool uses_fee_market(tss_eth_tx_type t) {
    return t == TSS_ETH_TX_EIP1559 || t == TSS_ETH_TX_EIP4844 || t == TSS_ETH_TX_EIP7702;
}

tss_result tss_eth_tx_check(const tss_eth_tx *tx) {
    TSS_ENSURE(tx->type == TSS_ETH_TX_LEGACY || tx->type == TSS_ETH_TX_EIP2930 ||
                   tx->type == TSS_ETH_TX_EIP1559 || tx->type == TSS_ETH_TX_EIP4844 ||
                   tx->type == TSS_ETH_TX_EIP7702,
               TSS_E_UNSUPPORTED, "eth tx: unsupported transaction type %d", (int)tx->type);
    /* Chain id 0 would make a signature valid on every chain (replayable). */
    TSS_ENSURE(tx->chain_id >= 1, TSS_E_INVALID, "eth tx: chain id must be at least 1");
    TSS_ENSURE(tx->data_len <= TSS_ETH_TX_MAX_SIZE, TSS_E_TOO_LARGE,
               "eth tx: data of %zu bytes exceeds %d", tx->data_len, TSS_ETH_TX_MAX_SIZE);
    TSS_ENSURE(tx->data || tx->data_len == 0, TSS_E_USAGE, "eth tx: data is NULL");
    /* Fields of another type would be silently dropped by the encoding. */
    if (tx->type != TSS_ETH_TX_EIP4844)
        TSS_ENSURE(tx->blob_hash_count == 0 && is_zero32(tx->max_fee_per_blob_gas),
                   TSS_E_INVALID, "eth tx: blob fields are only allowed in a type 3 transaction");
    if (tx->type != TSS_ETH_TX_EIP7702)
        TSS_ENSURE(tx->authorization_count == 0, TSS_E_INVALID,
                   "eth tx: an authorization list is only allowed in a type 4 transaction");
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
    if (!uses_fee_market(tx->type)) return TSS_OK_RESULT;
    /* Nodes refuse a tip above the fee cap; signing one would only waste a nonce. */
    TSS_ENSURE(tss_eth_u256_cmp(tx->max_priority_fee_per_gas, tx->max_fee_per_gas) <= 0,
               TSS_E_INVALID, "eth tx: maxPriorityFeePerGas exceeds maxFeePerGas");
    if (tx->type == TSS_ETH_TX_EIP4844) {
        /* EIP-4844: no contract creation, at least one blob; nodes refuse
         * versioned hashes of an unknown version. */
        TSS_ENSURE(tx->has_to, TSS_E_INVALID,
                   "eth tx: a type 3 (blob) transaction needs a recipient (no contract creation)");
        TSS_ENSURE(tx->blob_hash_count >= 1, TSS_E_INVALID,
                   "eth tx: a type 3 transaction needs at least one blob versioned hash");
        TSS_ENSURE(tx->blob_hash_count <= TSS_ETH_TX_MAX_BLOB_HASHES, TSS_E_TOO_LARGE,
                   "eth tx: %zu blob versioned hashes exceed %d", tx->blob_hash_count,
                   TSS_ETH_TX_MAX_BLOB_HASHES);
        TSS_ENSURE(tx->blob_hashes, TSS_E_USAGE, "eth tx: blob hashes are NULL");
        for (size_t i = 0; i < tx->blob_hash_count; i++)
            TSS_ENSURE(tx->blob_hashes[i][0] == TSS_ETH_BLOB_HASH_VERSION, TSS_E_INVALID,
                       "eth tx: blob versioned hash %zu has version 0x%02x, expected 0x01", i,
                       tx->blob_hashes[i][0]);
    }
    if (tx->type == TSS_ETH_TX_EIP7702) {
        /* EIP-7702: no contract creation, a non-empty authorization list. */
        TSS_ENSURE(tx->has_to, TSS_E_INVALID,
                   "eth tx: a type 4 (set-code) transaction needs a recipient (no contract "
                   "creation)");
        TSS_ENSURE(tx->authorization_count >= 1, TSS_E_INVALID,
                   "eth tx: a type 4 transaction needs at least one authorization");
        TSS_ENSURE(tx->authorization_count <= TSS_ETH_TX_MAX_AUTHORIZATIONS, TSS_E_TOO_LARGE,
                   "eth tx: %zu authorizations exceed %d", tx->authorization_count,
                   TSS_ETH_TX_MAX_AUTHORIZATIONS);
        TSS_ENSURE(tx->authorizations, TSS_E_USAGE, "eth tx: authorizations are NULL");
    }
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

static void put_authorizations(tss_writer *w, const tss_eth_tx *tx) {
    tss_writer list, item;
    tss_writer_init(&list, TSS_ETH_TX_MAX_SIZE);
    for (size_t i = 0; i < tx->authorization_count; i++) {
        const tss_eth_authorization *a = &tx->authorizations[i];
        tss_writer_init(&item, TSS_ETH_TX_MAX_SIZE);
        tss_rlp_put_u256(&item, a->chain_id);
        tss_rlp_put_bytes(&item, a->address, sizeof a->address);
        tss_rlp_put_u64(&item, a->nonce);
        tss_rlp_put_u64(&item, a->y_parity);
        tss_rlp_put_u256(&item, a->r);
        tss_rlp_put_u256(&item, a->s);
        tss_rlp_put_list(&list, &item);
        tss_writer_free(&item);
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
    if (tx->type == TSS_ETH_TX_EIP2930) {
        tss_rlp_put_u256(p, tx->gas_price);
    } else {
        tss_rlp_put_u256(p, tx->max_priority_fee_per_gas);
        tss_rlp_put_u256(p, tx->max_fee_per_gas);
    }
    tss_rlp_put_u64(p, tx->gas_limit);
    put_to(p, tx);
    tss_rlp_put_u256(p, tx->value);
    tss_rlp_put_bytes(p, tx->data, tx->data_len);
    put_access_list(p, tx);
    if (tx->type == TSS_ETH_TX_EIP4844) {
        tss_writer hashes;
        tss_writer_init(&hashes, TSS_ETH_TX_MAX_SIZE);
        tss_rlp_put_u256(p, tx->max_fee_per_blob_gas);
        for (size_t i = 0; i < tx->blob_hash_count; i++)
            tss_rlp_put_bytes(&hashes, tx->blob_hashes[i], 32);
        tss_rlp_put_list(p, &hashes);
        tss_writer_free(&hashes);
    }
    if (tx->type == TSS_ETH_TX_EIP7702) put_authorizations(p, tx);
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
    if (tx->type != TSS_ETH_TX_LEGACY) tss_write_u8(out, (uint8_t)tx->type);
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

/* with_sig: the signed form (v, r, s); else the unsigned EIP-155 form
 * [..., data, chainId, 0, 0]. */
static tss_result decode_legacy(tss_eth_signed_tx *t, const uint8_t *raw, size_t len,
                                bool with_sig) {
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
    if (!with_sig) {
        uint64_t zero_r, zero_s;
        TSS_GUARD(tss_rlp_read_u64(&f, &tx->chain_id, "chainId"));
        TSS_GUARD(tss_rlp_read_u64(&f, &zero_r, "EIP-155 r"));
        TSS_GUARD(tss_rlp_read_u64(&f, &zero_s, "EIP-155 s"));
        TSS_GUARD(tss_rlp_end_list(&r, &f, "legacy tx"));
        TSS_GUARD(tss_reader_finish(&r, "legacy tx"));
        TSS_ENSURE(zero_r == 0 && zero_s == 0, TSS_E_INVALID,
                   "eth tx: an unsigned EIP-155 transaction ends in chainId, 0, 0");
        return TSS_OK_RESULT;
    }
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

static tss_result read_blob_hashes(tss_reader *f, tss_eth_signed_tx *t) {
    tss_reader list;
    TSS_GUARD(tss_rlp_read_list(f, &list, "blobVersionedHashes"));
    /* Each hash is 33 encoded bytes: the count is known before allocating. */
    size_t n = tss_reader_remaining(&list) / 33;
    TSS_ENSURE(n <= TSS_ETH_TX_MAX_BLOB_HASHES, TSS_E_TOO_LARGE,
               "eth tx: more than %d blob versioned hashes", TSS_ETH_TX_MAX_BLOB_HASHES);
    if (n) {
        t->blob_hashes_ = calloc(n, sizeof *t->blob_hashes_);
        TSS_ENSURE(t->blob_hashes_, TSS_E_NOMEM, "eth tx: blob hash allocation");
    }
    size_t i = 0;
    while (tss_reader_remaining(&list) > 0) {
        TSS_ENSURE(i < n, TSS_E_INVALID, "eth tx: a blob versioned hash is not 32 bytes");
        TSS_GUARD(tss_rlp_read_fixed(&list, t->blob_hashes_[i++], 32, "blob versioned hash"));
    }
    TSS_GUARD(tss_rlp_end_list(f, &list, "blobVersionedHashes"));
    t->tx.blob_hashes = (const uint8_t(*)[32])t->blob_hashes_;
    t->tx.blob_hash_count = i;
    return TSS_OK_RESULT;
}

static tss_result read_authorizations(tss_reader *f, tss_eth_signed_tx *t) {
    tss_reader list, item;
    TSS_GUARD(tss_rlp_read_list(f, &list, "authorizationList"));
    /* A tuple takes at least 1 + 1 + 21 + 1 + 1 + 1 + 1 encoded bytes. */
    size_t cap = tss_reader_remaining(&list) / 27;
    if (cap > TSS_ETH_TX_MAX_AUTHORIZATIONS) cap = TSS_ETH_TX_MAX_AUTHORIZATIONS;
    if (cap) {
        t->auths_ = calloc(cap, sizeof *t->auths_);
        TSS_ENSURE(t->auths_, TSS_E_NOMEM, "eth tx: authorization allocation");
    }
    size_t n = 0;
    while (tss_reader_remaining(&list) > 0) {
        TSS_ENSURE(n < TSS_ETH_TX_MAX_AUTHORIZATIONS, TSS_E_TOO_LARGE,
                   "eth tx: more than %d authorizations", TSS_ETH_TX_MAX_AUTHORIZATIONS);
        TSS_ENSURE(n < cap, TSS_E_INVALID, "eth tx: malformed authorization tuple");
        tss_eth_authorization *a = &t->auths_[n++];
        uint8_t y;
        TSS_GUARD(tss_rlp_read_list(&list, &item, "authorization"));
        TSS_GUARD(tss_rlp_read_u256(&item, a->chain_id, "authorization chainId"));
        TSS_GUARD(tss_rlp_read_fixed(&item, a->address, sizeof a->address,
                                     "authorization address"));
        TSS_GUARD(tss_rlp_read_u64(&item, &a->nonce, "authorization nonce"));
        TSS_GUARD(tss_rlp_read_uint_be(&item, &y, 1, "authorization yParity"));
        TSS_GUARD(tss_rlp_read_u256(&item, a->r, "authorization r"));
        TSS_GUARD(tss_rlp_read_u256(&item, a->s, "authorization s"));
        TSS_GUARD(tss_rlp_end_list(&list, &item, "authorization"));
        a->y_parity = y;
    }
    TSS_GUARD(tss_rlp_end_list(f, &list, "authorizationList"));
    t->tx.authorizations = t->auths_;
    t->tx.authorization_count = n;
    return TSS_OK_RESULT;
}

/* Types 1-4: 0xNN || rlp([chainId, nonce, fees..., gasLimit, to, value, data,
 * accessList, type extras..., yParity, r, s]). */
static tss_result decode_typed(tss_eth_signed_tx *t, tss_eth_tx_type type, const uint8_t *raw,
                               size_t len, bool with_sig) {
    tss_eth_tx *tx = &t->tx;
    tss_reader r, f;
    char what[16];
    snprintf(what, sizeof what, "type-%d tx", (int)type);
    tss_reader_init(&r, raw, len);
    tx->type = type;
    TSS_GUARD(tss_rlp_read_list(&r, &f, what));
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->chain_id, "chainId"));
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->nonce, "nonce"));
    if (type == TSS_ETH_TX_EIP2930) {
        TSS_GUARD(tss_rlp_read_u256(&f, tx->gas_price, "gasPrice"));
    } else {
        TSS_GUARD(tss_rlp_read_u256(&f, tx->max_priority_fee_per_gas, "maxPriorityFeePerGas"));
        TSS_GUARD(tss_rlp_read_u256(&f, tx->max_fee_per_gas, "maxFeePerGas"));
    }
    TSS_GUARD(tss_rlp_read_u64(&f, &tx->gas_limit, "gasLimit"));
    TSS_GUARD(read_to(&f, tx));
    TSS_GUARD(tss_rlp_read_u256(&f, tx->value, "value"));
    TSS_GUARD(read_data(&f, tx));
    TSS_GUARD(read_access_list(&f, t));
    if (type == TSS_ETH_TX_EIP4844) {
        TSS_GUARD(tss_rlp_read_u256(&f, tx->max_fee_per_blob_gas, "maxFeePerBlobGas"));
        TSS_GUARD(read_blob_hashes(&f, t));
    }
    if (type == TSS_ETH_TX_EIP7702) TSS_GUARD(read_authorizations(&f, t));
    if (!with_sig) {
        TSS_GUARD(tss_rlp_end_list(&r, &f, what));
        return tss_reader_finish(&r, what);
    }
    uint64_t y;
    TSS_GUARD(tss_rlp_read_u64(&f, &y, "yParity"));
    TSS_GUARD(tss_rlp_read_u256(&f, t->sig.r, "r"));
    TSS_GUARD(tss_rlp_read_u256(&f, t->sig.s, "s"));
    TSS_GUARD(tss_rlp_end_list(&r, &f, what));
    TSS_GUARD(tss_reader_finish(&r, what));
    TSS_ENSURE(y <= 1, TSS_E_INVALID, "eth tx: yParity must be 0 or 1");
    t->sig.recid = (int)y;
    return TSS_OK_RESULT;
}

void tss_eth_signed_tx_free(tss_eth_signed_tx *stx) {
    free(stx->entries_);
    free(stx->keys_);
    free(stx->blob_hashes_);
    free(stx->auths_);
    memset(stx, 0, sizeof *stx);
}

static tss_result decode_any(tss_eth_signed_tx *out, const uint8_t *raw, size_t len,
                             bool with_sig) {
    memset(out, 0, sizeof *out);
    TSS_ENSURE(len > 0, TSS_E_TRUNCATED, "eth tx: empty input");
    TSS_ENSURE(len <= TSS_ETH_TX_MAX_SIZE + 1, TSS_E_TOO_LARGE,
               "eth tx: %zu bytes exceeds %d", len, TSS_ETH_TX_MAX_SIZE);
    tss_eth_signed_tx t;
    memset(&t, 0, sizeof t);
    tss_result res;
    if (raw[0] >= 0xc0)
        res = decode_legacy(&t, raw, len, with_sig);
    else if (raw[0] >= TSS_ETH_TX_EIP2930 && raw[0] <= TSS_ETH_TX_EIP7702)
        res = decode_typed(&t, (tss_eth_tx_type)raw[0], raw + 1, len - 1, with_sig);
    else if (raw[0] <= 0x7f)
        res = tss_fail(TSS_E_UNSUPPORTED, "eth tx: transaction type 0x%02x not supported", raw[0]);
    else
        res = tss_fail(TSS_E_INVALID, "eth tx: neither a typed transaction nor an RLP list");
    if (tss_is_ok(res)) res = tss_eth_tx_check(&t.tx);
    if (tss_is_ok(res) && with_sig) res = tss_eth_sig_check(&t.sig);
    if (!tss_is_ok(res)) {
        tss_eth_signed_tx_free(&t);
        return res;
    }
    *out = t;
    return TSS_OK_RESULT;
}

tss_result tss_eth_tx_decode_signed(tss_eth_signed_tx *out, const uint8_t *raw, size_t len) {
    return decode_any(out, raw, len, true);
}

tss_result tss_eth_tx_decode_unsigned(tss_eth_signed_tx *out, const uint8_t *raw, size_t len) {
    TSS_GUARD(decode_any(out, raw, len, false));
    /* Canonical: the bytes must be exactly what tss_eth_tx_encode_unsigned
     * gives, so two parties never read one byte string two ways. */
    tss_writer w;
    tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 64);
    tss_result r = tss_eth_tx_encode_unsigned(&out->tx, &w);
    if (tss_is_ok(r) && (w.len != len || memcmp(w.data, raw, len) != 0))
        r = tss_fail(TSS_E_INVALID, "eth tx: not the canonical unsigned encoding");
    tss_writer_free(&w);
    if (!tss_is_ok(r)) tss_eth_signed_tx_free(out);
    return r;
}

tss_result tss_eth_tx_sender(const tss_eth_signed_tx *stx, uint8_t address[20]) {
    uint8_t h[32];
    TSS_GUARD(tss_eth_tx_signing_hash(&stx->tx, h));
    return tss_eth_sig_recover_address(h, &stx->sig, address);
}

tss_result tss_eth_authorization_signing_hash(const uint8_t chain_id[32], const uint8_t address[20],
                                              uint64_t nonce, uint8_t out[32]) {
    tss_writer items, w;
    tss_writer_init(&items, 128);
    tss_writer_init(&w, 128);
    tss_rlp_put_u256(&items, chain_id);
    tss_rlp_put_bytes(&items, address, 20);
    tss_rlp_put_u64(&items, nonce);
    tss_write_u8(&w, TSS_ETH_AUTH_MAGIC);
    tss_rlp_put_list(&w, &items);
    tss_result r = tss_writer_status(&w, "eip7702 authorization");
    if (tss_is_ok(r)) r = tss_keccak256(out, w.data, w.len);
    tss_writer_free(&items);
    tss_writer_free(&w);
    return r;
}

tss_result tss_eth_authorization_authority(const tss_eth_authorization *auth,
                                           uint8_t address[20]) {
    TSS_ENSURE(auth->y_parity <= 1, TSS_E_INVALID,
               "eth authorization: yParity %u is not 0 or 1", auth->y_parity);
    tss_eth_sig sig;
    memcpy(sig.r, auth->r, 32);
    memcpy(sig.s, auth->s, 32);
    sig.recid = auth->y_parity;
    TSS_GUARD(tss_eth_sig_check(&sig)); /* EIP-7702 also requires s <= n/2 */
    uint8_t h[32];
    TSS_GUARD(tss_eth_authorization_signing_hash(auth->chain_id, auth->address, auth->nonce, h));
    return tss_eth_sig_recover_address(h, &sig, address);
}
