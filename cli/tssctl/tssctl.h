/* tssctl: the operator's client. Each command lives in its own file. */
#ifndef TSS_CLI_TSSCTL_H
#define TSS_CLI_TSSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/client.h"
#include "policy/approval.h"
#include "eth/tx.h"
#include "util/result.h"
#include "wire/frame.h"
#include "wire/msg.h"

#define PROG "tssctl"

/* Print the error (detail if any) and return its sysexits code. */
int tssctl_fail(tss_result r);
int tssctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* JSON string with escapes for quotes, backslashes and control bytes. */
void tssctl_json_str(FILE *out, const char *s);

int tssctl_status(const char *config, int argc, char **argv);
/* keygen, sign, sign-tx, sign-typed-data, presign, keys (ops.c). */
int tssctl_ops(const char *config, const char *cmd, int argc, char **argv);
struct tss_operator_config;
/* One OP_REQUEST / OP_RESPONSE exchange (ops.c); resp: tss_wire_op_response_free. */
TSS_MUST_CHECK tss_result tssctl_exchange(const struct tss_operator_config *cfg,
                                          const tss_wire_op_request *rq,
                                          tss_wire_op_response *resp);
/* One key record, text or JSON (ops.c). xpub: 0 none, 1 also, 2 only it. */
TSS_MUST_CHECK tss_result tssctl_print_key(const tss_wire_key_info *k, bool json, bool last,
                                           const char *sid_hex, int xpub, bool testnet,
                                           bool xpub_alone);
/* retire --key-id K [--yes] [--json] (retire.c). */
int tssctl_retire(const char *config, int argc, char **argv);
/* One key's registry record (OP_REQUEST keys --key-id), for commands that compute locally. */
TSS_MUST_CHECK tss_result tssctl_key_lookup(const char *config, const char *key_id,
                                            tss_wire_key_info *out);
/* The key's root extended public key (TSS_E_NOT_FOUND without a chain code). */
TSS_MUST_CHECK tss_result tssctl_key_xpub(char out[112], const tss_wire_key_info *k, bool testnet);
/* address (address.c): BIP-32 child addresses, from the registry or an xpub. */
int tssctl_address(const char *config, int argc, char **argv);

struct tss_operator_config;
struct tss_tls_ctx;
TSS_MUST_CHECK tss_result tssctl_operator_ctx(const struct tss_operator_config *cfg,
                                              struct tss_tls_ctx **out);
/* One operator request: connect as the operator, send `len` bytes as a frame
 * of `type`, receive the reply and require type `want` (an ERROR frame
 * becomes a failure with the coordinator's text). reply->payload lives in
 * *cl: decode it, then free *cl and *ctx — also after a failure (either may
 * be NULL).
 * Failover over the configured coordinator addresses, in order: a connect
 * failure or a "shutting down" refusal moves to the next; so does a
 * connection lost or silent after the request was sent, unless not_retried
 * is given (a request that is not safe to repeat): then the failure says
 * "the outcome is unknown and <not_retried>". */
TSS_MUST_CHECK tss_result tssctl_request(const struct tss_operator_config *cfg, uint8_t type,
                                         const uint8_t *payload, size_t len, uint8_t want,
                                         const char *not_retried, struct tss_tls_ctx **ctx,
                                         tss_client **cl, tss_wire_frame *reply);
/* typed-data-hash FILE (ops.c): the EIP-712 digest, offline. */
int tssctl_typed_data_hash(int argc, char **argv);
/* tx-hash FILE [--signature RSV] (ops.c): signing hash / encodings, offline. */
int tssctl_tx_hash(int argc, char **argv);
int tssctl_pki(int argc, char **argv);
/* config-reference [--check] (config_ref.c): offline. */
int tssctl_config_reference(int argc, char **argv);
/* approver-keygen, approve, approval show (approver.c): offline. */
int tssctl_approver_keygen(int argc, char **argv);
int tssctl_approve(int argc, char **argv);
int tssctl_approval(int argc, char **argv);
/* Read an approval file (`tssctl approve` output) into *out. */
TSS_MUST_CHECK tss_result tssctl_approval_read(const char *path, tss_approval *out);
/* audit verify (audit.c): offline, no coordinator needed. */
int tssctl_audit(int argc, char **argv);
/* policy.c */
int tssctl_policy(int argc, char **argv);
/* Request content (policy/request.h) for sign commands and policy check:
 * kind is --tx FILE, --typed-data FILE, --message TEXT, --digest HEX or
 * --request FILE (an encoded request); *enc is initialised here. */
TSS_MUST_CHECK tss_result tssctl_read_input(const char *path, const char *what, size_t limit,
                                            char **out, size_t *len);
TSS_MUST_CHECK tss_result tssctl_request_from(const char *kind, const char *arg, tss_writer *enc);
/* The request content of a transaction (its unsigned serialisation), appended to enc. */
TSS_MUST_CHECK tss_result tssctl_request_tx(const tss_eth_tx *tx, tss_writer *enc);

#endif
