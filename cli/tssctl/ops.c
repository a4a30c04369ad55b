/* tssctl keygen | sign | sign-tx | presign | keys: one OP_REQUEST to the
 * coordinator, one OP_RESPONSE back. Signatures are verified again here
 * (against the key's public key, with recovery) before they are printed.
 * sign-tx parses a transaction file (eth/tx_json.h), has the coordinator sign
 * its signing hash exactly like `sign --digest`, and prints the signed raw
 * transaction only if its recovered sender is the key's address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <secp256k1.h>
#include <sodium.h>

#include "cli/tssctl/tssctl.h"
#include "config/operator.h"
#include "daemon/client.h"
#include "eth/address.h"
#include "eth/eip191.h"
#include "eth/eip712.h"
#include "eth/keccak.h"
#include "eth/sig.h"
#include "eth/tx.h"
#include "eth/tx_json.h"
#include "eth/u256.h"
#include "mpc/bip32.h"
#include "policy/request.h"
#include "util/json.h"
#include "tls/context.h"
#include "util/hex.h"
#include "util/log.h"
#include "wire/msg.h"

static tss_result parse_ids(const char *s, uint16_t *ids, uint16_t *count, const char *what) {
    *count = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        TSS_ENSURE(end != p && v >= 1 && v <= TSS_WIRE_MAX_PARTIES, TSS_E_USAGE,
                   "%s: '%s' is not a list of party ids 1..32", what, s);
        TSS_ENSURE(*count < TSS_WIRE_MAX_PARTIES, TSS_E_USAGE, "%s: too many ids", what);
        ids[(*count)++] = (uint16_t)v;
        p = end;
        if (*p == ',') p++;
        else TSS_ENSURE(*p == '\0', TSS_E_USAGE, "%s: '%s' is not a list of party ids", what, s);
    }
    TSS_ENSURE(*count > 0, TSS_E_USAGE, "%s: empty list", what);
    for (size_t i = 0; i < *count; i++) /* sort ascending, refuse duplicates */
        for (size_t j = i + 1; j < *count; j++) {
            TSS_ENSURE(ids[i] != ids[j], TSS_E_USAGE, "%s: party %u listed twice", what, ids[i]);
            if (ids[j] < ids[i]) {
                uint16_t t = ids[i];
                ids[i] = ids[j];
                ids[j] = t;
            }
        }
    return TSS_OK_RESULT;
}

tss_result tssctl_exchange(const tss_operator_config *cfg, const tss_wire_op_request *rq,
                           tss_wire_op_response *resp) {
    tss_tls_ctx *ctx = NULL;
    tss_client *cl = NULL;
    tss_wire_frame f;
    tss_writer w;
    tss_writer_init(&w, 8192 + rq->request_len + rq->approvals_len);
    tss_result r = tss_wire_op_request_encode(&w, rq);
    /* keys and sign are repeated on the next coordinator if one fails
     * mid-request: keys reads; a repeated sign runs a fresh session (new
     * session id, another presignature or full signing: parties never reuse
     * either) over the same digest, so it grants nothing the first did not.
     * keygen and presign are not (see not_retried). */
    const char *not_retried = NULL;
    char hint[320];
    if (rq->command == TSS_WIRE_OP_KEYGEN) {
        snprintf(hint, sizeof hint, "keygen is not retried: `tssctl keys --key-id %s` shows "
                 "whether the key exists; running keygen again with this id can never make a "
                 "second key", rq->key_id);
        not_retried = hint;
    } else if (rq->command == TSS_WIRE_OP_PRESIGN) {
        snprintf(hint, sizeof hint, "presign is not retried (it may have made some): `tssctl "
                 "keys --key-id %s` shows the stock", rq->key_id);
        not_retried = hint;
    }
    if (tss_is_ok(r))
        r = tssctl_request(cfg, TSS_WIRE_OP_REQUEST, w.data, w.len, TSS_WIRE_OP_RESPONSE,
                           not_retried, &ctx, &cl, &f);
    tss_writer_free(&w);
    if (tss_is_ok(r)) r = tss_wire_op_response_decode(resp, f.payload, f.len);
    if (tss_is_ok(r) && (resp->request_id != rq->request_id || resp->command != rq->command)) {
        tss_wire_op_response_free(resp);
        r = tss_fail(TSS_E_PROTOCOL, "coordinator answered another request");
    }
    tss_client_free(cl);
    tss_tls_ctx_free(ctx);
    return r;
}

tss_result tssctl_key_lookup(const char *config, const char *key_id, tss_wire_key_info *out) {
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.command = TSS_WIRE_OP_KEYS;
    TSS_ENSURE(strlen(key_id) >= 1 && strlen(key_id) <= TSS_WIRE_MAX_KEY_ID, TSS_E_USAGE,
               "--key-id: 1..%u characters", TSS_WIRE_MAX_KEY_ID);
    snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
    randombytes_buf(&rq.request_id, sizeof rq.request_id);
    tss_log_set_level(getenv("TSSCTL_DEBUG") ? LOG_DEBUG : LOG_CRIT);
    tss_operator_config cfg;
    memset(&cfg, 0, sizeof cfg);
    TSS_GUARD(tss_config_operator_load_file(&cfg, config));
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    tss_result r = tssctl_exchange(&cfg, &rq, &resp);
    tss_config_operator_free(&cfg);
    TSS_GUARD(r);
    if (resp.status != 0)
        r = tss_fail(TSS_E_PROTOCOL, "%s", resp.text);
    else if (resp.key_count != 1 || strcmp(resp.keys[0].key_id, key_id) != 0)
        r = tss_fail(TSS_E_NOT_FOUND, "no key %s in the coordinator's registry", key_id);
    else
        *out = resp.keys[0];
    tss_wire_op_response_free(&resp);
    return r;
}

/* Uncompressed key hex and EIP-55 address of a compressed key. */
static tss_result key_views(const uint8_t pk[TSS_WIRE_POINT_LEN], uint8_t unc[65],
                            char unc_hex[131], char addr_s[TSS_ETH_ADDRESS_STR_SIZE]) {
    secp256k1_pubkey p;
    size_t len = 65;
    TSS_ENSURE(secp256k1_ec_pubkey_parse(secp256k1_context_static, &p, pk, TSS_WIRE_POINT_LEN),
               TSS_E_PROTOCOL, "coordinator sent an invalid public key");
    (void)secp256k1_ec_pubkey_serialize(secp256k1_context_static, unc, &len, &p,
                                        SECP256K1_EC_UNCOMPRESSED);
    tss_hex_encode(unc_hex, unc, 65);
    uint8_t addr[TSS_ETH_ADDRESS_LEN];
    TSS_GUARD(tss_eth_address_from_pubkey(addr, unc, 65));
    return tss_eth_address_to_string(addr_s, addr);
}

static void print_ids_json(const uint16_t *ids, size_t n) {
    printf("[");
    for (size_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", ids[i]);
    printf("]");
}

/* Why a signature was made in full (the coordinator's text on success,
 * "full signing: <reason>"); "" for a presigned one. */
static const char *fallback_reason(const tss_wire_op_response *resp) {
    static const char prefix[] = "full signing: ";
    if (resp->presigned) return "";
    if (strncmp(resp->text, prefix, sizeof prefix - 1) == 0) return resp->text + sizeof prefix - 1;
    return resp->text[0] ? resp->text : "not reported by the coordinator";
}

/* ,"presigned":B[,"fallback":"why"] */
static void print_mode_json(const tss_wire_op_response *resp) {
    printf(",\"presigned\":%s", resp->presigned ? "true" : "false");
    if (!resp->presigned) {
        printf(",\"fallback\":");
        tssctl_json_str(stdout, fallback_reason(resp));
    }
}

static void print_ids_text(const uint16_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", ids[i]);
}

tss_result tssctl_key_xpub(char out[TSS_BIP32_XPUB_TEXT], const tss_wire_key_info *k,
                           bool testnet) {
    TSS_ENSURE(k->has_chain_code, TSS_E_NOT_FOUND,
               "key %s has no chain code in the coordinator's registry (registered before tssd "
               "kept it): no extended public key", k->key_id);
    tss_point X;
    TSS_GUARD(tss_pt_decode(&X, k->public_key, "public key"));
    tss_bip32_node root;
    tss_bip32_root(&root, &X, k->chain_code);
    return tss_bip32_xpub_encode(out, &root, testnet);
}

/* xpub: 0 no extended key, 1 also show it, 2 show only it (xpub_alone: without the key id). */
tss_result tssctl_print_key(const tss_wire_key_info *k, bool json, bool last, const char *sid_hex,
                            int xpub, bool testnet, bool xpub_alone) {
    uint8_t unc[65];
    char unc_hex[131], addr[TSS_ETH_ADDRESS_STR_SIZE], cmp[67], x[TSS_BIP32_XPUB_TEXT] = "";
    TSS_GUARD(key_views(k->public_key, unc, unc_hex, addr));
    tss_hex_encode(cmp, k->public_key, TSS_WIRE_POINT_LEN);
    if (k->has_chain_code) TSS_GUARD(tssctl_key_xpub(x, k, testnet));
    if (xpub == 2 && !json) {
        TSS_GUARD(tssctl_key_xpub(x, k, testnet)); /* names a key without one */
        if (xpub_alone) printf("%s\n", x);
        else printf("%s %s\n", k->key_id, x);
        return TSS_OK_RESULT;
    }
    if (json) {
        printf("{\"keyId\":");
        tssctl_json_str(stdout, k->key_id);
        printf(",\"threshold\":%u,\"totalParties\":%u,\"parties\":", k->threshold, k->count);
        print_ids_json(k->parties, k->count);
        printf(",\"publicKey\":\"%s\",\"publicKeyCompressed\":\"%s\",\"address\":\"%s\","
               "\"presignatures\":%u,\"createdMs\":%llu",
               unc_hex, cmp, addr, k->presignatures, (unsigned long long)k->created_ms);
        printf(",\"epoch\":%u,\"retired\":%s", k->epoch, k->retired ? "true" : "false");
        if (k->retired) printf(",\"retiredMs\":%llu", (unsigned long long)k->retired_ms);
        if (x[0]) printf(",\"%s\":\"%s\"", testnet ? "tpub" : "xpub", x);
        if (sid_hex) printf(",\"session\":\"%s\"", sid_hex);
        printf("}%s", last ? "" : ",");
    } else {
        printf("key %s: %u-of-%u, parties ", k->key_id, k->threshold, k->count);
        print_ids_text(k->parties, k->count);
        printf(", epoch %u, %u presignature(s)\n  public key: %s\n  address:    %s\n", k->epoch,
               k->presignatures, unc_hex, addr);
        if (k->retired) {
            char when[40];
            time_t t = (time_t)(k->retired_ms / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            printf("  retired:    %s (shares erased; it no longer signs)\n", when);
        }
        if (xpub && x[0]) printf("  %s:       %s\n", testnet ? "tpub" : "xpub", x);
    }
    return TSS_OK_RESULT;
}

static void print_typed_data(const tss_eip712_result *td, bool json);

/* The --path of this sign/sign-tx/presign ("" without one): printed with the result. */
static char g_path_text[TSS_BIP32_PATH_TEXT_MAX];

/* Under a path the signature is for the child key: derive it here from the
 * response's X and chain code (as the parties did from their shares) and put
 * it in place of X, so that every check and view below is of the child. */
static tss_result signing_key_view(tss_wire_op_response *resp, const tss_bip32_path *path) {
    if (path->depth == 0) return TSS_OK_RESULT;
    TSS_ENSURE(resp->key_count == 1, TSS_E_PROTOCOL, "sign response without the key");
    tss_wire_key_info *k = &resp->keys[0];
    char x[TSS_BIP32_XPUB_TEXT];
    tss_bip32_node root, child;
    TSS_GUARD(tssctl_key_xpub(x, k, false));
    TSS_GUARD(tss_bip32_xpub_decode(&root, NULL, x));
    TSS_GUARD(tss_bip32_derive(&child, NULL, &root, path));
    tss_pt_encode(k->public_key, &child.key);
    return TSS_OK_RESULT;
}

static tss_result print_signature(const tss_wire_op_response *resp, bool json, const char *sid_hex,
                                  const char *message, const char *hash,
                                  const tss_eip712_result *td) {
    TSS_ENSURE(resp->key_count == 1, TSS_E_PROTOCOL, "sign response without the key");
    const tss_wire_key_info *k = &resp->keys[0];
    tss_eth_sig sig;
    memcpy(sig.r, resp->r, 32);
    memcpy(sig.s, resp->s, 32);
    sig.recid = resp->recid;
    /* Verify again here: low-s, valid under X, and v recovers X. */
    tss_result r = tss_eth_sig_verify(resp->digest, &sig, k->public_key, TSS_WIRE_POINT_LEN);
    TSS_ENSURE(tss_is_ok(r), TSS_E_PROTOCOL,
               "the coordinator's signature does not verify against key %s: %s", k->key_id,
               tss_error_detail());
    if (td) {
        /* Typed data: the coordinator signed our digest, and it recovers the key's address. */
        uint8_t unc0[65], key_addr[TSS_ETH_ADDRESS_LEN], from[TSS_ETH_ADDRESS_LEN];
        char unc0_hex[131], a0[TSS_ETH_ADDRESS_STR_SIZE];
        TSS_ENSURE(memcmp(resp->digest, td->digest, 32) == 0, TSS_E_PROTOCOL,
                   "the coordinator signed another digest than the typed data's");
        TSS_GUARD(key_views(k->public_key, unc0, unc0_hex, a0));
        TSS_GUARD(tss_eth_address_from_pubkey(key_addr, unc0, sizeof unc0));
        TSS_GUARD(tss_eth_sig_recover_address(td->digest, &sig, from));
        TSS_ENSURE(memcmp(from, key_addr, sizeof from) == 0, TSS_E_PROTOCOL,
                   "refusing: the signature recovers another address than key %s's %s",
                   k->key_id, a0);
    }
    uint8_t rsv[TSS_ETH_SIG_RSV_LEN], der[TSS_ETH_SIG_DER_MAX], unc[65];
    size_t der_len;
    TSS_GUARD(tss_eth_sig_to_rsv(&sig, rsv));
    TSS_GUARD(tss_eth_sig_to_der(&sig, der, &der_len));
    char rh[65], sh[65], dh[65], rsvh[131], derh[145], unc_hex[131], addr[TSS_ETH_ADDRESS_STR_SIZE];
    TSS_GUARD(key_views(k->public_key, unc, unc_hex, addr));
    tss_hex_encode(rh, sig.r, 32);
    tss_hex_encode(sh, sig.s, 32);
    tss_hex_encode(dh, resp->digest, 32);
    tss_hex_encode(rsvh, rsv, sizeof rsv);
    tss_hex_encode(derh, der, der_len);
    if (json) {
        printf("{\"keyId\":");
        tssctl_json_str(stdout, k->key_id);
        if (message) {
            printf(",\"message\":");
            tssctl_json_str(stdout, message);
            printf(",\"digestAlgorithm\":\"%s\"", hash);
        }
        if (td) {
            printf(",\"typedData\":{");
            print_typed_data(td, true);
            printf("},\"signature\":\"0x%s\"", rsvh);
        }
        printf(",\"digest\":\"%s\",\"r\":\"%s\",\"s\":\"%s\",\"v\":%u,\"der\":\"%s\","
               "\"ethereum\":\"%s\",\"signers\":",
               dh, rh, sh, resp->recid, derh, rsvh);
        print_ids_json(resp->signers, resp->signer_count);
        if (g_path_text[0]) printf(",\"path\":\"%s\"", g_path_text);
        printf(",\"publicKey\":\"%s\",\"address\":\"%s\"", unc_hex, addr);
        print_mode_json(resp);
        printf(",\"verified\":true,\"session\":\"%s\"}\n", sid_hex);
    } else {
        if (td) print_typed_data(td, false);
        printf("key:       %s (%s)\n", k->key_id, addr);
        if (g_path_text[0]) printf("path:      %s\n", g_path_text);
        printf("digest:    %s\nr:         %s\ns:         %s\nv:         %u\n"
               "der:       %s\nethereum:  0x%s\nsigners:   ",
               dh, rh, sh, resp->recid, derh, rsvh);
        print_ids_text(resp->signers, resp->signer_count);
        if (resp->presigned) printf("\nmode:      presigned (one online round)");
        else printf("\nmode:      full signing (%s)", fallback_reason(resp));
        printf("\nverified:  yes (by the coordinator and by tssctl)\n");
    }
    return TSS_OK_RESULT;
}

static tss_result read_tx_file(const char *path, char **out, size_t *len) {
    return tssctl_read_input(path, "--tx ", (size_t)TSS_JSON_MAX_SIZE, out, len);
}

/* Hash a typed-data file; errors are prefixed with the file name. */
static tss_result typed_data_file(const char *path, tss_eip712_result *td) {
    char *text = NULL;
    size_t len = 0;
    tss_result r = tssctl_read_input(path, "", TSS_EIP712_MAX_JSON, &text, &len);
    if (tss_is_ok(r)) {
        r = tss_eip712_hash_json(text, len, td);
        if (!tss_is_ok(r)) {
            char detail[1024];
            snprintf(detail, sizeof detail, "%s", tss_error_detail());
            r = tss_fail(r.err, "%s: %s", path, detail);
        }
    }
    free(text);
    return r;
}

static void print_typed_data(const tss_eip712_result *td, bool json) {
    char dh[65], sh[65], mh[65], summary[512];
    tss_hex_encode(dh, td->digest, 32);
    tss_hex_encode(sh, td->domain_separator, 32);
    tss_hex_encode(mh, td->struct_hash, 32);
    tss_eip712_summary(td, summary, sizeof summary);
    if (json) {
        printf("\"digest\":\"0x%s\",\"domainSeparator\":\"0x%s\",\"structHash\":\"0x%s\","
               "\"primaryType\":",
               dh, sh, mh);
        tssctl_json_str(stdout, td->primary_type);
        printf(",\"summary\":");
        tssctl_json_str(stdout, summary);
    } else {
        printf("typed data: %s\ndomain separator: 0x%s\nstruct hash:      0x%s\n", summary, sh,
               mh);
    }
}

/* tssctl typed-data-hash FILE [--json]: offline, no coordinator. */
int tssctl_typed_data_hash(int argc, char **argv) {
    bool json = false;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return tssctl_usage_error("typed-data-hash: unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return tssctl_usage_error("typed-data-hash takes one FILE");
    }
    if (!path) return tssctl_usage_error("typed-data-hash needs FILE");
    tss_eip712_result td;
    tss_result r = typed_data_file(path, &td);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    if (json) {
        printf("{");
        print_typed_data(&td, true);
        printf("}\n");
    } else {
        char dh[65];
        tss_hex_encode(dh, td.digest, 32);
        print_typed_data(&td, false);
        printf("digest:           0x%s\n", dh);
    }
    return 0;
}

static const char *tx_type_name(tss_eth_tx_type t) {
    switch (t) {
    case TSS_ETH_TX_LEGACY: return "0 (legacy, EIP-155)";
    case TSS_ETH_TX_EIP2930: return "1 (EIP-2930)";
    case TSS_ETH_TX_EIP1559: return "2 (EIP-1559)";
    case TSS_ETH_TX_EIP4844: return "3 (EIP-4844, without blobs)";
    case TSS_ETH_TX_EIP7702: return "4 (EIP-7702)";
    }
    return "?";
}

/* Decimal text of a 128-bit value (legacy v can exceed 64 bits). */
static void u128_dec(char out[40], unsigned __int128 v) {
    char tmp[40];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

/* The signed transaction: check the coordinator signed our hash, normalise,
 * verify, recover the sender (must be the key's address), encode, decode
 * back and recover again, print. */
static tss_result print_tx(const tss_wire_op_response *resp, const tss_eth_tx *tx,
                           const uint8_t hash[32], bool json, const char *sid_hex) {
    TSS_ENSURE(resp->key_count == 1 && resp->has_signature, TSS_E_PROTOCOL,
               "sign response without the key or signature");
    const tss_wire_key_info *k = &resp->keys[0];
    TSS_ENSURE(memcmp(resp->digest, hash, 32) == 0, TSS_E_PROTOCOL,
               "the coordinator signed another digest than the transaction's signing hash");
    tss_eth_sig sig;
    memcpy(sig.r, resp->r, 32);
    memcpy(sig.s, resp->s, 32);
    sig.recid = resp->recid;
    TSS_GUARD(tss_eth_sig_normalize(&sig, NULL));
    tss_result r = tss_eth_sig_verify(hash, &sig, k->public_key, TSS_WIRE_POINT_LEN);
    TSS_ENSURE(tss_is_ok(r), TSS_E_PROTOCOL,
               "the coordinator's signature does not verify against key %s: %s", k->key_id,
               tss_error_detail());
    uint8_t unc[65], key_addr[TSS_ETH_ADDRESS_LEN], from[TSS_ETH_ADDRESS_LEN];
    char unc_hex[131], addr_s[TSS_ETH_ADDRESS_STR_SIZE];
    TSS_GUARD(key_views(k->public_key, unc, unc_hex, addr_s));
    TSS_GUARD(tss_eth_address_from_pubkey(key_addr, unc, sizeof unc));
    TSS_GUARD(tss_eth_sig_recover_address(hash, &sig, from));
    TSS_ENSURE(memcmp(from, key_addr, sizeof from) == 0, TSS_E_PROTOCOL,
               "refusing: the signature recovers another sender than key %s's address %s",
               k->key_id, addr_s);
    tss_writer w;
    tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 256);
    r = tss_eth_tx_encode_signed(tx, &sig, &w);
    if (tss_is_ok(r)) r = tss_writer_status(&w, "signed transaction");
    /* Decode what we are about to print and recover its sender again. */
    tss_eth_signed_tx stx;
    memset(&stx, 0, sizeof stx);
    uint8_t from2[TSS_ETH_ADDRESS_LEN], txhash[32];
    if (tss_is_ok(r)) r = tss_eth_tx_decode_signed(&stx, w.data, w.len);
    if (tss_is_ok(r)) r = tss_eth_tx_sender(&stx, from2);
    tss_eth_signed_tx_free(&stx);
    if (tss_is_ok(r) && memcmp(from2, key_addr, sizeof from2) != 0)
        r = tss_fail(TSS_E_PROTOCOL, "refusing: the encoded transaction's sender is not %s",
                     addr_s);
    if (tss_is_ok(r)) r = tss_keccak256(txhash, w.data, w.len);
    char *raw = tss_is_ok(r) ? malloc(2 * w.len + 1) : NULL;
    if (tss_is_ok(r) && !raw) r = tss_fail(TSS_E_NOMEM, "no memory");
    if (!tss_is_ok(r)) {
        tss_writer_free(&w);
        return r;
    }
    tss_hex_encode(raw, w.data, w.len);
    tss_writer_free(&w);
    char hh[65], sh_[65], rh[65], ss[65], v[40];
    tss_hex_encode(hh, txhash, 32);
    tss_hex_encode(sh_, hash, 32);
    tss_hex_encode(rh, sig.r, 32);
    tss_hex_encode(ss, sig.s, 32);
    if (tx->type == TSS_ETH_TX_LEGACY)
        u128_dec(v, (unsigned __int128)tx->chain_id * 2 + 35 + (unsigned)sig.recid);
    else
        u128_dec(v, (unsigned)sig.recid);
    if (json) {
        printf("{\"keyId\":");
        tssctl_json_str(stdout, k->key_id);
        if (g_path_text[0]) printf(",\"path\":\"%s\"", g_path_text);
        printf(",\"type\":%u,\"chainId\":%llu,\"nonce\":%llu,\"from\":\"%s\",\"signingHash\":\"0x%s\","
               "\"hash\":\"0x%s\",\"r\":\"0x%s\",\"s\":\"0x%s\",\"v\":%s,\"yParity\":%d,"
               "\"raw\":\"0x%s\",\"signers\":",
               (unsigned)tx->type, (unsigned long long)tx->chain_id,
               (unsigned long long)tx->nonce, addr_s, sh_, hh, rh, ss, v, sig.recid, raw);
        print_ids_json(resp->signers, resp->signer_count);
        print_mode_json(resp);
        printf(",\"verified\":true,\"session\":\"%s\"}\n", sid_hex);
    } else {
        printf("key:          %s\nfrom:         %s\ntype:         %s\nchain id:     %llu\n"
               "nonce:        %llu\nsigning hash: 0x%s\ntx hash:      0x%s\nr:            0x%s\n"
               "s:            0x%s\n%s %s\nsigners:      ",
               k->key_id, addr_s, tx_type_name(tx->type),
               (unsigned long long)tx->chain_id, (unsigned long long)tx->nonce, sh_, hh, rh, ss,
               tx->type == TSS_ETH_TX_LEGACY ? "v:           " : "yParity:     ", v);
        print_ids_text(resp->signers, resp->signer_count);
        printf("\nverified:     yes (sender recovered from the signed transaction)\nraw:          0x%s\n",
               raw);
    }
    free(raw);
    return TSS_OK_RESULT;
}

/* An EIP-7702 authorization signed by the key: check the coordinator signed
 * the authorization's hash, normalise to low s (EIP-7702 requires it), and
 * require the recovered authority to be the key's address. Prints the tuple in
 * the form a transaction file's authorizationList takes. */
static tss_result print_authorization(const tss_wire_op_response *resp,
                                      tss_eth_authorization *auth, const uint8_t hash[32],
                                      bool json, const char *sid_hex) {
    TSS_ENSURE(resp->key_count == 1 && resp->has_signature, TSS_E_PROTOCOL,
               "sign response without the key or signature");
    const tss_wire_key_info *k = &resp->keys[0];
    TSS_ENSURE(memcmp(resp->digest, hash, 32) == 0, TSS_E_PROTOCOL,
               "the coordinator signed another digest than the authorization's");
    tss_eth_sig sig;
    memcpy(sig.r, resp->r, 32);
    memcpy(sig.s, resp->s, 32);
    sig.recid = resp->recid;
    TSS_GUARD(tss_eth_sig_normalize(&sig, NULL));
    memcpy(auth->r, sig.r, 32);
    memcpy(auth->s, sig.s, 32);
    auth->y_parity = (uint8_t)sig.recid;
    uint8_t unc[65], key_addr[TSS_ETH_ADDRESS_LEN], who[TSS_ETH_ADDRESS_LEN];
    char unc_hex[131], addr_s[TSS_ETH_ADDRESS_STR_SIZE], target[TSS_ETH_ADDRESS_STR_SIZE];
    TSS_GUARD(key_views(k->public_key, unc, unc_hex, addr_s));
    TSS_GUARD(tss_eth_address_from_pubkey(key_addr, unc, sizeof unc));
    TSS_GUARD(tss_eth_authorization_authority(auth, who));
    TSS_ENSURE(memcmp(who, key_addr, sizeof who) == 0, TSS_E_PROTOCOL,
               "refusing: the authorization's authority is not key %s's address %s", k->key_id,
               addr_s);
    TSS_GUARD(tss_eth_address_to_string(target, auth->address));
    char chain[TSS_ETH_U256_DEC_SIZE], hh[65], rh[65], sh[65];
    tss_eth_u256_to_dec(chain, auth->chain_id);
    tss_hex_encode(hh, hash, 32);
    tss_hex_encode(rh, auth->r, 32);
    tss_hex_encode(sh, auth->s, 32);
    if (json) {
        printf("{\"keyId\":");
        tssctl_json_str(stdout, k->key_id);
        printf(",\"authority\":\"%s\",\"signingHash\":\"0x%s\",\"authorization\":{\"chainId\":"
               "\"%s\",\"address\":\"%s\",\"nonce\":\"%llu\",\"yParity\":%u,\"r\":\"0x%s\","
               "\"s\":\"0x%s\"},\"signers\":",
               addr_s, hh, chain, target, (unsigned long long)auth->nonce, auth->y_parity, rh, sh);
        print_ids_json(resp->signers, resp->signer_count);
        print_mode_json(resp);
        printf(",\"verified\":true,\"session\":\"%s\"}\n", sid_hex);
    } else {
        printf("key:          %s\nauthority:    %s\nchain id:     %s%s\ndelegate to:  %s\n"
               "nonce:        %llu\nsigning hash: 0x%s\nyParity:      %u\nr:            0x%s\n"
               "s:            0x%s\nsigners:      ",
               k->key_id, addr_s, chain, chain[0] == '0' && !chain[1] ? " (every chain)" : "",
               target, (unsigned long long)auth->nonce, hh, auth->y_parity, rh, sh);
        print_ids_text(resp->signers, resp->signer_count);
        printf("\nverified:     yes (the authority recovered from the signature is the key's)\n");
    }
    return TSS_OK_RESULT;
}

int tssctl_ops(const char *config, const char *cmd, int argc, char **argv) {
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    bool json = false, have_digest = false, no_presign = false, testnet = false;
    int xpub = 0;
    const char *message = NULL, *hash = "sha256", *key_id = NULL, *tx_path = NULL;
    long threshold = 0, count = 0;
    tss_result r = TSS_OK_RESULT;
    bool sign_tx = strcmp(cmd, "sign-tx") == 0;
    bool sign_td = strcmp(cmd, "sign-typed-data") == 0;
    bool sign_auth = strcmp(cmd, "sign-authorization") == 0;
    const char *td_path = NULL, *auth_chain = NULL, *auth_address = NULL, *auth_nonce = NULL;
    tss_eth_authorization auth;
    memset(&auth, 0, sizeof auth);
    tss_eip712_result td;
    /* --approval FILE (repeatable): approvals the parties verify (policy/approval.h). */
    tss_approval_set approvals = {.n = 0};
    rq.command = strcmp(cmd, "keygen") == 0                 ? TSS_WIRE_OP_KEYGEN
                 : strcmp(cmd, "sign") == 0 || sign_tx || sign_td || sign_auth ? TSS_WIRE_OP_SIGN
                 : strcmp(cmd, "presign") == 0              ? TSS_WIRE_OP_PRESIGN
                                                            : TSS_WIRE_OP_KEYS;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) { json = true; continue; }
        if (strcmp(a, "--xpub") == 0 && rq.command == TSS_WIRE_OP_KEYS) { xpub = 2; continue; }
        if (strcmp(a, "--testnet") == 0 && rq.command == TSS_WIRE_OP_KEYS) {
            testnet = true;
            continue;
        }
        if (strcmp(a, "--no-presign") == 0 && rq.command == TSS_WIRE_OP_SIGN) {
            no_presign = true;
            continue;
        }
        if (sign_td && (a[0] != '-' || a[1] == '\0')) { /* FILE, or - for stdin */
            if (td_path) return tssctl_usage_error("sign-typed-data takes one FILE");
            td_path = a;
            continue;
        }
        if (!v) return tssctl_usage_error("%s: '%s' needs a value or is unknown", cmd, a);
        i++;
        if (strcmp(a, "--key-id") == 0) key_id = v;
        else if (strcmp(a, "--approval") == 0 && rq.command == TSS_WIRE_OP_SIGN) {
            if (approvals.n == TSS_APPROVAL_MAX)
                return tssctl_usage_error("at most %d --approval", TSS_APPROVAL_MAX);
            r = tssctl_approval_read(v, &approvals.v[approvals.n]);
            if (!tss_is_ok(r)) return tssctl_fail(r);
            approvals.n++;
        }
        else if (strcmp(a, "--threshold") == 0 && rq.command == TSS_WIRE_OP_KEYGEN)
            threshold = strtol(v, NULL, 10);
        else if ((strcmp(a, "--parties") == 0 && rq.command == TSS_WIRE_OP_KEYGEN) ||
                 (strcmp(a, "--signers") == 0 &&
                  (rq.command == TSS_WIRE_OP_SIGN || rq.command == TSS_WIRE_OP_PRESIGN))) {
            r = parse_ids(v, rq.parties, &rq.count, a);
            if (!tss_is_ok(r)) return tssctl_usage_error("%s", tss_error_detail());
        } else if (strcmp(a, "--digest") == 0 && rq.command == TSS_WIRE_OP_SIGN && !sign_tx &&
                   !sign_td && !sign_auth) {
            const char *h = strncmp(v, "0x", 2) == 0 ? v + 2 : v;
            if (strlen(h) != 64 || !tss_is_ok(tss_hex_decode(rq.digest, 32, h, "--digest")))
                return tssctl_usage_error("--digest needs 64 hex digits");
            have_digest = true;
        } else if (strcmp(a, "--message") == 0 && rq.command == TSS_WIRE_OP_SIGN && !sign_tx &&
                   !sign_td && !sign_auth)
            message = v;
        else if (strcmp(a, "--hash") == 0 && rq.command == TSS_WIRE_OP_SIGN && !sign_tx &&
                 !sign_td && !sign_auth)
            hash = v;
        else if (strcmp(a, "--tx") == 0 && sign_tx) tx_path = v;
        else if (strcmp(a, "--chain-id") == 0 && sign_auth) auth_chain = v;
        else if (strcmp(a, "--address") == 0 && sign_auth) auth_address = v;
        else if (strcmp(a, "--nonce") == 0 && sign_auth) auth_nonce = v;
        else if (strcmp(a, "--count") == 0 && rq.command == TSS_WIRE_OP_PRESIGN)
            count = strtol(v, NULL, 10);
        else if (strcmp(a, "--path") == 0 &&
                 (rq.command == TSS_WIRE_OP_SIGN || rq.command == TSS_WIRE_OP_PRESIGN)) {
            r = tss_bip32_path_parse(&rq.path, v);
            if (!tss_is_ok(r)) return tssctl_fail(r);
            if (rq.path.depth) tss_bip32_path_format(g_path_text, sizeof g_path_text, &rq.path);
        }
        else return tssctl_usage_error("%s: unknown option '%s'", cmd, a);
    }
    if (rq.command != TSS_WIRE_OP_KEYS && !key_id) return tssctl_usage_error("%s needs --key-id", cmd);
    if (key_id) {
        if (strlen(key_id) > TSS_WIRE_MAX_KEY_ID) return tssctl_usage_error("--key-id too long");
        snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
    }
    if (no_presign) rq.flags |= TSS_WIRE_OP_FLAG_NO_PRESIGN;
    if (rq.command == TSS_WIRE_OP_KEYGEN) {
        if (threshold < 2 || threshold > TSS_WIRE_MAX_PARTIES)
            return tssctl_usage_error("keygen needs --threshold T (2..32)");
        rq.threshold = (uint16_t)threshold;
    }
    if (rq.command == TSS_WIRE_OP_PRESIGN) {
        if (count < 1 || count > TSS_WIRE_MAX_PRESIGN_COUNT)
            return tssctl_usage_error("presign needs --count K (1..%u)", TSS_WIRE_MAX_PRESIGN_COUNT);
        rq.presign_count = (uint16_t)count;
    }
    tss_eth_tx tx;
    tss_eth_tx_storage txs;
    memset(&tx, 0, sizeof tx);
    memset(&txs, 0, sizeof txs);
    if (sign_tx) {
        if (!tx_path) return tssctl_usage_error("sign-tx needs --tx FILE.json (or --tx - for stdin)");
        char *text = NULL;
        size_t len = 0;
        r = read_tx_file(tx_path, &text, &len);
        if (tss_is_ok(r)) {
            r = tss_eth_tx_from_json(text, len, &tx, &txs);
            if (!tss_is_ok(r)) {
                char detail[1024]; /* tss_fail formats into the detail buffer: copy it first */
                snprintf(detail, sizeof detail, "%s", tss_error_detail());
                r = tss_fail(r.err, "%s: %s", tx_path, detail);
            }
        }
        free(text);
        if (tss_is_ok(r)) r = tss_eth_tx_signing_hash(&tx, rq.digest);
        if (!tss_is_ok(r)) {
            tss_eth_tx_storage_free(&txs);
            return tssctl_fail(r);
        }
    } else if (sign_auth) {
        if (!auth_chain || !auth_address || !auth_nonce)
            return tssctl_usage_error("sign-authorization needs --chain-id, --address and --nonce");
        r = tss_eth_u256_parse(auth.chain_id, auth_chain, "--chain-id");
        if (tss_is_ok(r)) r = tss_eth_address_parse(auth.address, auth_address, NULL);
        if (tss_is_ok(r)) r = tss_eth_u64_parse(&auth.nonce, auth_nonce, "--nonce");
        if (tss_is_ok(r))
            r = tss_eth_authorization_signing_hash(auth.chain_id, auth.address, auth.nonce,
                                                   rq.digest);
        if (!tss_is_ok(r)) return tssctl_fail(r);
    } else if (sign_td) {
        if (!td_path) return tssctl_usage_error("sign-typed-data needs FILE");
        r = typed_data_file(td_path, &td);
        if (!tss_is_ok(r)) return tssctl_fail(r);
        memcpy(rq.digest, td.digest, 32);
    } else if (rq.command == TSS_WIRE_OP_SIGN) {
        if (have_digest == (message != NULL))
            return tssctl_usage_error("sign needs exactly one of --digest and --message");
        if (message) {
            size_t ml = strlen(message);
            if (strcmp(hash, "sha256") == 0)
                crypto_hash_sha256(rq.digest, (const uint8_t *)message, ml);
            else if (strcmp(hash, "keccak256") == 0) r = tss_keccak256(rq.digest, message, ml);
            else if (strcmp(hash, "eip191") == 0)
                r = tss_eip191_digest(rq.digest, (const uint8_t *)message, ml);
            else return tssctl_usage_error("--hash must be sha256, keccak256 or eip191");
            if (!tss_is_ok(r)) return tssctl_fail(r);
        }
    }
    /* Request content (issue 16): the parties compute the digest from it and
     * apply their signing policy; a bare digest is a "raw" request. */
    tss_writer content;
    tss_writer_init(&content, TSS_WIRE_MAX_REQUEST);
    if (sign_tx) {
        r = tssctl_request_tx(&tx, &content);
    } else if (sign_td) {
        tss_writer_free(&content);
        r = tssctl_request_from("--typed-data", td_path, &content);
    } else if (rq.command == TSS_WIRE_OP_SIGN && message && strcmp(hash, "eip191") == 0) {
        tss_writer_free(&content);
        r = tssctl_request_from("--message", message, &content);
    }
    if (!tss_is_ok(r)) {
        tss_writer_free(&content);
        tss_eth_tx_storage_free(&txs);
        return tssctl_fail(r);
    }
    /* Approvals travel only with request content: a bare digest goes as a
     * "raw" request, which is what the approvers approved (approve --digest). */
    tss_writer apv;
    tss_writer_init(&apv, TSS_APPROVAL_LIST_MAX);
    if (tss_is_ok(r) && approvals.n) {
        if (!content.len) {
            tss_request raw = {TSS_REQ_RAW, rq.digest, 32};
            tss_writer_free(&content);
            tss_writer_init(&content, TSS_REQ_MAX_ENCODED);
            r = tss_request_encode(&content, &raw);
        }
        if (tss_is_ok(r)) r = tss_approval_list_encode(&approvals, &apv);
        if (!tss_is_ok(r)) {
            tss_writer_free(&apv);
            tss_writer_free(&content);
            tss_eth_tx_storage_free(&txs);
            return tssctl_fail(r);
        }
        rq.approvals = apv.data;
        rq.approvals_len = apv.len;
    }
    rq.request = content.len ? content.data : NULL;
    rq.request_len = content.len;
    randombytes_buf(&rq.request_id, sizeof rq.request_id);
    tss_log_set_level(getenv("TSSCTL_DEBUG") ? LOG_DEBUG : LOG_CRIT);
    tss_operator_config cfg;
    memset(&cfg, 0, sizeof cfg);
    r = tss_config_operator_load_file(&cfg, config);
    if (!tss_is_ok(r)) {
        tss_eth_tx_storage_free(&txs);
        tss_writer_free(&content);
        tss_writer_free(&apv);
        return tssctl_fail(r);
    }
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    r = tssctl_exchange(&cfg, &rq, &resp);
    tss_config_operator_free(&cfg);
    if (!tss_is_ok(r)) {
        tss_eth_tx_storage_free(&txs);
        tss_writer_free(&content);
        tss_writer_free(&apv);
        return tssctl_fail(r);
    }
    char sid_hex[33];
    tss_hex_encode(sid_hex, resp.session_id, sizeof resp.session_id);
    int code = 0;
    if (rq.command == TSS_WIRE_OP_PRESIGN && (resp.status != 0 || resp.presigned < count) &&
        resp.presigned > 0) {
        /* Partial: say how many were made, and fail (EX_TEMPFAIL) so a script
         * does not take a short batch for a full one. */
        const char *name = resp.status ? tss_wire_error_code_name(resp.status) : NULL;
        if (json) {
            printf("{\"keyId\":\"%s\",\"requested\":%ld,\"presigned\":%u,\"partial\":true,"
                   "\"error\":",
                   rq.key_id, count, resp.presigned);
            tssctl_json_str(stdout, resp.text);
            printf(",\"code\":\"%s\",\"session\":\"%s\"}\n", name ? name : "PARTIAL", sid_hex);
        } else {
            printf("%u of %ld presignature(s) made for key %s\n", resp.presigned, count, rq.key_id);
        }
        fprintf(stderr, PROG ": presign stopped part-way: %u of %ld made: %s\n", resp.presigned,
                count, resp.text);
        code = 75;
    } else if (resp.status != 0) {
        const char *name = tss_wire_error_code_name(resp.status);
        if (json) {
            printf("{\"error\":");
            tssctl_json_str(stdout, resp.text);
            printf(",\"code\":\"%s\",\"culprit\":", name ? name : "?");
            if (resp.culprit) printf("%u", resp.culprit);
            else printf("null");
            printf(",\"session\":\"%s\"}\n", sid_hex);
        }
        fprintf(stderr, PROG ": %s failed: %s%s", cmd, resp.text, resp.culprit ? "" : "\n");
        if (resp.culprit) fprintf(stderr, " (culprit: party %u)\n", resp.culprit);
        code = 76;
    } else if (rq.command == TSS_WIRE_OP_SIGN &&
               !tss_is_ok(r = signing_key_view(&resp, &rq.path))) {
        /* r names what is wrong */
    } else if (sign_tx) {
        r = print_tx(&resp, &tx, rq.digest, json, sid_hex);
    } else if (sign_auth) {
        r = print_authorization(&resp, &auth, rq.digest, json, sid_hex);
    } else if (rq.command == TSS_WIRE_OP_SIGN) {
        r = print_signature(&resp, json, sid_hex, message, hash, sign_td ? &td : NULL);
    } else if (rq.command == TSS_WIRE_OP_PRESIGN) {
        if (json)
            printf("{\"keyId\":\"%s\",%s%s%s\"presigned\":%u}\n", rq.key_id,
                   g_path_text[0] ? "\"path\":\"" : "", g_path_text, g_path_text[0] ? "\"," : "",
                   resp.presigned);
        else
            printf("%u presignature(s) made for key %s%s%s\n", resp.presigned, rq.key_id,
                   g_path_text[0] ? " path " : "", g_path_text);
    } else {
        if (json && rq.command == TSS_WIRE_OP_KEYS) printf("{\"keys\":[");
        for (size_t i = 0; tss_is_ok(r) && i < resp.key_count; i++)
            r = tssctl_print_key(&resp.keys[i], json, i + 1 == resp.key_count,
                          rq.command == TSS_WIRE_OP_KEYGEN ? sid_hex : NULL,
                          xpub ? xpub : 1, testnet, rq.key_id[0] != '\0');
        if (json && rq.command == TSS_WIRE_OP_KEYS) printf("]}");
        if (json) printf("\n");
        if (!json && resp.key_count == 0) printf("no keys\n");
    }
    tss_wire_op_response_free(&resp);
    tss_eth_tx_storage_free(&txs);
    tss_writer_free(&content);
        tss_writer_free(&apv);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    fflush(stdout);
    return code;
}

/* tssctl tx-hash FILE [--signature RSV] [--json]: offline. The signing hash and
 * unsigned serialisation of a transaction file; with a 65-byte r||s||v
 * signature made elsewhere, also the signed raw transaction (decoded back,
 * its sender recovered). Nothing is signed here. */
int tssctl_tx_hash(int argc, char **argv) {
    bool json = false;
    const char *path = NULL, *sig_hex = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--signature") == 0 && i + 1 < argc) sig_hex = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return tssctl_usage_error("tx-hash: unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return tssctl_usage_error("tx-hash takes one FILE");
    }
    if (!path) return tssctl_usage_error("tx-hash needs FILE");
    tss_eth_sig sig;
    if (sig_hex) {
        uint8_t rsv[TSS_ETH_SIG_RSV_LEN];
        const char *h = strncmp(sig_hex, "0x", 2) == 0 ? sig_hex + 2 : sig_hex;
        if (strlen(h) != 130 || !tss_is_ok(tss_hex_decode(rsv, sizeof rsv, h, "--signature")))
            return tssctl_usage_error("--signature needs 65 bytes (130 hex digits, r || s || v)");
        tss_result r = tss_eth_sig_from_rsv(&sig, rsv);
        if (!tss_is_ok(r)) return tssctl_fail(r);
    }
    char *text = NULL;
    size_t len = 0;
    tss_eth_tx tx;
    tss_eth_tx_storage txs;
    memset(&txs, 0, sizeof txs);
    uint8_t hash[32], from[TSS_ETH_ADDRESS_LEN];
    tss_writer u, w;
    tss_writer_init(&u, TSS_ETH_TX_MAX_SIZE + 16);
    tss_writer_init(&w, TSS_ETH_TX_MAX_SIZE + 256);
    tss_result r = read_tx_file(path, &text, &len);
    if (tss_is_ok(r)) {
        r = tss_eth_tx_from_json(text, len, &tx, &txs);
        if (!tss_is_ok(r)) {
            char detail[1024];
            snprintf(detail, sizeof detail, "%s", tss_error_detail());
            r = tss_fail(r.err, "%s: %s", path, detail);
        }
    }
    free(text);
    if (tss_is_ok(r)) r = tss_eth_tx_signing_hash(&tx, hash);
    if (tss_is_ok(r)) r = tss_eth_tx_encode_unsigned(&tx, &u);
    if (tss_is_ok(r) && sig_hex) {
        tss_eth_signed_tx stx;
        memset(&stx, 0, sizeof stx);
        r = tss_eth_tx_encode_signed(&tx, &sig, &w);
        if (tss_is_ok(r)) r = tss_eth_tx_decode_signed(&stx, w.data, w.len);
        if (tss_is_ok(r)) r = tss_eth_tx_sender(&stx, from);
        tss_eth_signed_tx_free(&stx);
    }
    char *uh = tss_is_ok(r) ? malloc(2 * u.len + 1) : NULL;
    char *wh = tss_is_ok(r) ? malloc(2 * w.len + 1) : NULL;
    if (tss_is_ok(r) && (!uh || !wh)) r = tss_fail(TSS_E_NOMEM, "no memory");
    if (tss_is_ok(r)) {
        char hh[65], addr[TSS_ETH_ADDRESS_STR_SIZE] = "";
        tss_hex_encode(hh, hash, 32);
        tss_hex_encode(uh, u.data, u.len);
        tss_hex_encode(wh, w.data, w.len);
        if (sig_hex) r = tss_eth_address_to_string(addr, from);
        if (tss_is_ok(r) && json) {
            printf("{\"type\":%u,\"signingHash\":\"0x%s\",\"unsigned\":\"0x%s\"",
                   (unsigned)tx.type, hh, uh);
            if (sig_hex) printf(",\"raw\":\"0x%s\",\"from\":\"%s\"", wh, addr);
            printf("}\n");
        } else if (tss_is_ok(r)) {
            printf("type:         %s\nsigning hash: 0x%s\nunsigned:     0x%s\n",
                   tx_type_name(tx.type), hh, uh);
            if (sig_hex) printf("from:         %s\nraw:          0x%s\n", addr, wh);
        }
    }
    free(uh);
    free(wh);
    tss_writer_free(&u);
    tss_writer_free(&w);
    tss_eth_tx_storage_free(&txs);
    return tss_is_ok(r) ? 0 : tssctl_fail(r);
}
