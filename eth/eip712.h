/* EIP-712 typed structured data hashing (eth_signTypedData_v4), sans-I/O.
 *
 * Input is the standard JSON typed-data object
 *
 *   {"types": {"EIP712Domain": [...], "Mail": [{"name": "from", "type": "Person"}, ...]},
 *    "primaryType": "Mail", "domain": {...}, "message": {...}}
 *
 * parsed with jansson (duplicate keys rejected, size and depth bounded here).
 * Output: domainSeparator = hashStruct(EIP712Domain, domain), the message's
 * struct hash, and digest = keccak256(0x19 0x01 || domainSeparator ||
 * hashStruct(primaryType, message)) (for primaryType "EIP712Domain" the digest
 * is keccak256(0x19 0x01 || domainSeparator), as eth-sig-util does).
 *
 * Supported: nested structs, arrays (T[] and T[k]) of any depth up to
 * TSS_EIP712_MAX_ARRAY_DIMS, string, bytes, bytes1..bytes32, uint8..uint256 and
 * int8..int256 (range-checked, intN in two's complement), bool, address. The
 * domain may carry any subset of name, version, chainId, verifyingContract,
 * salt (in that order when types.EIP712Domain lists them; inferred from the
 * domain's keys when it is absent).
 *
 * Strict (every error names the type and field, or the JSON path): unknown
 * types, cyclic type references, duplicate fields, invalid type or field
 * names, missing or unknown primaryType, missing or extra message keys, values
 * that do not fit their type (out of range, wrong length, wrong JSON type).
 * The exact rules are in docs/PROTOCOL.md, "Ethereum encodings". */
#ifndef TSS_ETH_EIP712_H
#define TSS_ETH_EIP712_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

/* Caps on attacker-controlled quantities. */
#define TSS_EIP712_MAX_JSON (1024 * 1024)  /* bytes of JSON text */
#define TSS_EIP712_MAX_DEPTH 32            /* nested JSON arrays/objects */
#define TSS_EIP712_MAX_TYPES 128           /* struct types in "types" */
#define TSS_EIP712_MAX_FIELDS 1024         /* fields over all struct types */
#define TSS_EIP712_MAX_NAME 128            /* bytes of a type or field name */
#define TSS_EIP712_MAX_ARRAY_DIMS 8        /* [] suffixes on one field type */
#define TSS_EIP712_MAX_VALUES 65536        /* values hashed in domain + message */

/* Bytes kept of the domain's name/version for the audit summary (truncated on
 * a UTF-8 boundary; *_truncated says so). Raw UTF-8: the caller escapes it for
 * its log format. */
#define TSS_EIP712_SUMMARY_STR 96

typedef struct {
    uint8_t domain_separator[32];
    uint8_t struct_hash[32]; /* hashStruct(primaryType, message); zero for EIP712Domain */
    uint8_t digest[32];      /* what gets signed */

    /* Audit summary. */
    char primary_type[TSS_EIP712_MAX_NAME + 1];
    bool has_name, name_truncated;
    char name[TSS_EIP712_SUMMARY_STR + 1];
    bool has_version, version_truncated;
    char version[TSS_EIP712_SUMMARY_STR + 1];
    bool has_chain_id;
    uint8_t chain_id[32]; /* uint256 big-endian */
    bool has_verifying_contract;
    uint8_t verifying_contract[20];
    bool has_salt;
    uint8_t salt[32];
} tss_eip712_result;

/* Hash len bytes of JSON text (the typed-data object). *out is written only on
 * success. Errors: TSS_E_INVALID (bad JSON or typed data), TSS_E_TOO_LARGE
 * (a cap above), TSS_E_NOMEM; the detail names the type and field. */
TSS_MUST_CHECK tss_result tss_eip712_hash_json(const char *text, size_t len,
                                               tss_eip712_result *out);

/* The same from an already parsed jansson value (e.g. JSON-RPC params[1] of
 * eth_signTypedData_v4 when it is an object; when it is a string, pass its
 * text to tss_eip712_hash_json). The caller's parser must have bounded depth
 * and size; this function bounds the rest. typed_data is a `const json_t *`. */
struct json_t;
TSS_MUST_CHECK tss_result tss_eip712_hash_value(const struct json_t *typed_data,
                                                tss_eip712_result *out);

/* One line for audit logs, printable ASCII only (other bytes of name/version
 * as \xNN): `primaryType=Mail name="Ether Mail" version="1" chainId=1
 * verifyingContract=0xCcCC...` (absent fields left out). Always NUL-terminates;
 * truncates to n-1 bytes. */
void tss_eip712_summary(const tss_eip712_result *res, char *buf, size_t n);

#endif
