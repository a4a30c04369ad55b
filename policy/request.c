/* Request content decoding and digests (policy/request.h). */
#include "policy/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "eth/eip191.h"
#include "eth/eip712.h"
#include "eth/keccak.h"
#include "eth/tx.h"

#include "wire/msg.h"
_Static_assert(TSS_WIRE_MAX_REQUEST == TSS_REQ_MAX_ENCODED,
               "the wire cap on request content is the encoding's maximum");

static const char *const type_names[TSS_REQ_TYPE_COUNT] = {"raw", "eip191", "tx", "eip712"};

const char *tss_req_type_name(unsigned type) {
    return type < TSS_REQ_TYPE_COUNT ? type_names[type] : NULL;
}

bool tss_req_type_parse(const char *name, unsigned *out) {
    for (unsigned i = 0; i < TSS_REQ_TYPE_COUNT; i++)
        if (strcmp(name, type_names[i]) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static tss_result check_shape(const tss_request *req) {
    TSS_ENSURE(req->type < TSS_REQ_TYPE_COUNT, TSS_E_UNSUPPORTED,
               "request content: unknown type %u (0 raw, 1 eip191, 2 tx, 3 eip712)", req->type);
    size_t n = req->body_len;
    switch (req->type) {
    case TSS_REQ_RAW:
        TSS_ENSURE(n == 32, TSS_E_INVALID, "request content: a raw digest is 32 bytes, got %zu", n);
        break;
    case TSS_REQ_EIP191:
        TSS_ENSURE(n >= 1 && n <= TSS_REQ_MAX_EIP191, TSS_E_INVALID,
                   "request content: an EIP-191 message is 1..%u bytes, got %zu",
                   TSS_REQ_MAX_EIP191, n);
        break;
    default:
        TSS_ENSURE(n >= 1 && n <= TSS_REQ_MAX_BODY, TSS_E_INVALID,
                   "request content: a %s body is 1..%u bytes, got %zu",
                   tss_req_type_name(req->type), TSS_REQ_MAX_BODY, n);
    }
    return TSS_OK_RESULT;
}

tss_result tss_request_encode(tss_writer *w, const tss_request *req) {
    TSS_GUARD(check_shape(req));
    tss_write_u8(w, TSS_REQ_VERSION);
    tss_write_u8(w, req->type);
    tss_write_var(w, req->body, req->body_len);
    return tss_writer_status(w, "request content");
}

tss_result tss_request_read(tss_reader *rd, tss_request *out) {
    uint8_t version = tss_read_u8(rd);
    uint8_t type = tss_read_u8(rd);
    size_t n = 0;
    const uint8_t *body = tss_read_var(rd, TSS_REQ_MAX_BODY, &n);
    TSS_GUARD(tss_reader_status(rd, "request content"));
    TSS_ENSURE(version == TSS_REQ_VERSION, TSS_E_UNSUPPORTED,
               "request content: version %u (this build reads %u)", version, TSS_REQ_VERSION);
    tss_request r = {type, body, n};
    TSS_GUARD(check_shape(&r));
    *out = r;
    return TSS_OK_RESULT;
}

tss_result tss_request_decode(tss_request *out, const uint8_t *p, size_t n) {
    tss_reader rd;
    tss_reader_init(&rd, p, n);
    tss_request r;
    TSS_GUARD(tss_request_read(&rd, &r));
    TSS_GUARD(tss_reader_finish(&rd, "request content"));
    *out = r;
    return TSS_OK_RESULT;
}

static tss_result view_tx(const tss_request *req, tss_req_view *v) {
    tss_eth_signed_tx t;
    TSS_GUARD(tss_eth_tx_decode_unsigned(&t, req->body, req->body_len));
    const tss_eth_tx *tx = &t.tx;
    v->tx_type = (uint8_t)tx->type;
    v->has_chain_id = true;
    for (int i = 0; i < 8; i++) v->chain_id[31 - i] = (uint8_t)(tx->chain_id >> (8 * i));
    v->has_to = tx->has_to;
    if (tx->has_to) memcpy(v->to, tx->to, 20);
    memcpy(v->value, tx->value, 32);
    v->data_len = tx->data_len;
    v->has_selector = tx->data_len >= 4;
    if (v->has_selector) memcpy(v->selector, tx->data, 4);
    tss_eth_signed_tx_free(&t);
    /* The signing hash is keccak256 of exactly these canonical bytes. */
    return tss_keccak256(v->digest, req->body, req->body_len);
}

static tss_result view_eip712(const tss_request *req, tss_req_view *v) {
    tss_eip712_result *res = malloc(sizeof *res); /* ~1 KiB, public: off the stack */
    TSS_ENSURE(res != NULL, TSS_E_NOMEM, "request content: no memory");
    tss_result r = tss_eip712_hash_json((const char *)req->body, req->body_len, res);
    if (tss_is_ok(r)) {
        memcpy(v->digest, res->digest, 32);
        v->has_chain_id = res->has_chain_id;
        memcpy(v->chain_id, res->chain_id, 32);
        v->has_verifying_contract = res->has_verifying_contract;
        memcpy(v->verifying_contract, res->verifying_contract, 20);
        /* A truncated name never matches an allowlist entry. */
        v->has_name = res->has_name && !res->name_truncated;
        if (v->has_name) snprintf(v->name, sizeof v->name, "%s", res->name);
    }
    free(res);
    return r;
}

tss_result tss_request_evaluate(const tss_request *req, tss_req_view *out) {
    TSS_GUARD(check_shape(req));
    tss_req_view v;
    memset(&v, 0, sizeof v);
    v.type = req->type;
    switch (req->type) {
    case TSS_REQ_RAW: memcpy(v.digest, req->body, 32); break;
    case TSS_REQ_EIP191: TSS_GUARD(tss_eip191_digest(v.digest, req->body, req->body_len)); break;
    case TSS_REQ_TX: TSS_GUARD(view_tx(req, &v)); break;
    default: TSS_GUARD(view_eip712(req, &v)); break;
    }
    *out = v;
    return TSS_OK_RESULT;
}

#define HASH_LABEL "tssd/v1/sign-request"
_Static_assert(sizeof HASH_LABEL - 1 >= crypto_generichash_KEYBYTES_MIN, "label length");

void tss_request_hash(const char *key_id, const tss_bip32_path *path, const tss_request *req,
                      uint8_t out[32]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, (const uint8_t *)HASH_LABEL, sizeof HASH_LABEL - 1, 32);
    uint8_t hdr[1 + 255];
    size_t kl = strlen(key_id);
    if (kl > 255) kl = 255; /* key ids are at most 64 bytes (checked before) */
    hdr[0] = (uint8_t)kl;
    memcpy(hdr + 1, key_id, kl);
    crypto_generichash_update(&st, hdr, 1 + kl);
    uint8_t depth = path ? path->depth : 0;
    crypto_generichash_update(&st, &depth, 1);
    for (unsigned i = 0; i < depth; i++) {
        uint8_t b[4] = {(uint8_t)(path->index[i] >> 24), (uint8_t)(path->index[i] >> 16),
                        (uint8_t)(path->index[i] >> 8), (uint8_t)path->index[i]};
        crypto_generichash_update(&st, b, 4);
    }
    uint8_t head[6] = {TSS_REQ_VERSION, req->type, (uint8_t)(req->body_len >> 24),
                       (uint8_t)(req->body_len >> 16), (uint8_t)(req->body_len >> 8),
                       (uint8_t)req->body_len};
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, req->body, req->body_len);
    crypto_generichash_final(&st, out, 32);
}
