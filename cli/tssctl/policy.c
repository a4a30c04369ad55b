/* tssctl policy check: evaluate a request against a policy file offline, as
 * a party would (docs/OPERATIONS.md "Signing policy"), and the request
 * content builder the sign commands share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tssctl/tssctl.h"
#include "eth/eip712.h"
#include "eth/tx.h"
#include "eth/tx_json.h"
#include "policy/policy.h"
#include "policy/request.h"
#include "util/hex.h"
#include "util/json.h"

/* An input file ("-" is stdin), read with a cap one byte over the limit so an
 * oversized file is reported as such rather than as truncated content; errors
 * are prefixed with `what` (e.g. "--tx "). */
tss_result tssctl_read_input(const char *path, const char *what, size_t limit, char **out,
                             size_t *len) {
    bool from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "re");
    TSS_ENSURE(f != NULL, errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO, "%s%s: %s", what, path,
               strerror(errno));
    char *buf = malloc(limit + 1);
    if (!buf) {
        if (!from_stdin) fclose(f);
        return tss_fail(TSS_E_NOMEM, "no memory for %s", path);
    }
    size_t n = fread(buf, 1, limit + 1, f);
    bool err = ferror(f) != 0;
    if (!from_stdin) fclose(f);
    if (err || n > limit) {
        free(buf);
        return err ? tss_fail(TSS_E_IO, "%s%s: read error", what, path)
                   : tss_fail(TSS_E_TOO_LARGE, "%s%s: file too large (limit %zu bytes)", what,
                              path, limit);
    }
    *out = buf;
    *len = n;
    return TSS_OK_RESULT;
}

tss_result tssctl_request_tx(const tss_eth_tx *tx, tss_writer *enc) {
    tss_writer body;
    tss_writer_init(&body, TSS_REQ_MAX_BODY);
    tss_result r = tss_eth_tx_encode_unsigned(tx, &body);
    if (tss_is_ok(r)) r = tss_writer_status(&body, "transaction");
    if (tss_is_ok(r)) {
        tss_request req = {TSS_REQ_TX, body.data, body.len};
        r = tss_request_encode(enc, &req);
    }
    tss_writer_free(&body);
    return r;
}

tss_result tssctl_request_from(const char *kind, const char *arg, tss_writer *enc) {
    tss_writer_init(enc, TSS_REQ_MAX_ENCODED);
    if (strcmp(kind, "--tx") == 0) {
        char *text = NULL;
        size_t len = 0;
        TSS_GUARD(tssctl_read_input(arg, "", (size_t)TSS_JSON_MAX_SIZE, &text, &len));
        tss_eth_tx tx;
        tss_eth_tx_storage st;
        tss_result r = tss_eth_tx_from_json(text, len, &tx, &st);
        free(text);
        if (tss_is_ok(r)) r = tssctl_request_tx(&tx, enc);
        tss_eth_tx_storage_free(&st);
        return r;
    }
    if (strcmp(kind, "--typed-data") == 0) {
        char *text = NULL;
        size_t len = 0;
        TSS_GUARD(tssctl_read_input(arg, "", TSS_REQ_MAX_BODY, &text, &len));
        tss_request req = {TSS_REQ_EIP712, (const uint8_t *)text, len};
        tss_result r = tss_request_encode(enc, &req);
        free(text);
        return r;
    }
    if (strcmp(kind, "--message") == 0) {
        tss_request req = {TSS_REQ_EIP191, (const uint8_t *)arg, strlen(arg)};
        return tss_request_encode(enc, &req);
    }
    if (strcmp(kind, "--digest") == 0) {
        uint8_t d[32];
        const char *h = strncmp(arg, "0x", 2) == 0 ? arg + 2 : arg;
        TSS_ENSURE(strlen(h) == 64, TSS_E_USAGE, "--digest needs 64 hex digits");
        TSS_GUARD(tss_hex_decode(d, 32, h, "--digest"));
        tss_request req = {TSS_REQ_RAW, d, 32};
        return tss_request_encode(enc, &req);
    }
    if (strcmp(kind, "--request") == 0) { /* an encoded request content file */
        char *bytes = NULL;
        size_t len = 0;
        TSS_GUARD(tssctl_read_input(arg, "", TSS_REQ_MAX_ENCODED, &bytes, &len));
        tss_request req;
        tss_result r = tss_request_decode(&req, (const uint8_t *)bytes, len);
        if (tss_is_ok(r)) r = tss_request_encode(enc, &req);
        free(bytes);
        return r;
    }
    return tss_fail(TSS_E_USAGE, "unknown request option %s", kind);
}

/* tssctl policy check POLICY.yaml --key-id ID [--path P] (--tx F | --typed-data F |
 * --message TEXT | --digest HEX | --request F) [--at UNIX_SECONDS] [--json] */
static int policy_check(int argc, char **argv) {
    const char *policy_path = NULL, *key_id = NULL, *kind = NULL, *arg = NULL;
    tss_bip32_path path = {0};
    bool json = false;
    uint64_t at_ms = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) { json = true; continue; }
        if (a[0] != '-' && !policy_path) { policy_path = a; continue; }
        if (!v) return tssctl_usage_error("policy check: '%s' needs a value or is unknown", a);
        i++;
        if (strcmp(a, "--key-id") == 0) key_id = v;
        else if (strcmp(a, "--path") == 0) {
            tss_result r = tss_bip32_path_parse(&path, v);
            if (!tss_is_ok(r)) return tssctl_fail(r);
        } else if (strcmp(a, "--at") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || *end || s > UINT64_MAX / 1000)
                return tssctl_usage_error("--at needs Unix seconds");
            at_ms = (uint64_t)s * 1000;
        } else if (strcmp(a, "--tx") == 0 || strcmp(a, "--typed-data") == 0 ||
                   strcmp(a, "--message") == 0 || strcmp(a, "--digest") == 0 ||
                   strcmp(a, "--request") == 0) {
            if (kind) return tssctl_usage_error("policy check takes one request");
            kind = a;
            arg = v;
        } else return tssctl_usage_error("policy check: unknown option '%s'", a);
    }
    if (!policy_path || !key_id || !kind)
        return tssctl_usage_error("policy check needs POLICY.yaml, --key-id and one of --tx, "
                                  "--typed-data, --message, --digest, --request");
    tss_policy p;
    tss_result r = tss_policy_load_file(&p, policy_path);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    tss_writer enc;
    r = tssctl_request_from(kind, arg, &enc);
    tss_request req;
    tss_req_view view;
    if (tss_is_ok(r)) r = tss_request_decode(&req, enc.data, enc.len);
    if (tss_is_ok(r)) r = tss_request_evaluate(&req, &view);
    if (!tss_is_ok(r)) {
        tss_writer_free(&enc);
        tss_policy_free(&p);
        return tssctl_fail(r);
    }
    if (!at_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        at_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    }
    uint8_t rh[32];
    tss_request_hash(key_id, &path, &req, rh);
    /* Offline: windows are empty (each party keeps its own) and approvals
     * cannot be verified, so a rule needing approvals does not match. */
    tss_policy_input in = {key_id, &view, rh, at_ms, NULL, NULL};
    tss_policy_decision d;
    tss_policy_evaluate(&p, &in, &d);
    char digest[65], rhx[65];
    tss_hex_encode(digest, view.digest, 32);
    tss_hex_encode(rhx, rh, 32);
    if (json) {
        printf("{\"decision\":\"%s\",\"rule\":", d.allow ? "allow" : "refuse");
        if (d.rule >= 0) tssctl_json_str(stdout, d.rule_name);
        else printf("null");
        printf(",\"type\":\"%s\",\"digest\":\"0x%s\",\"requestHash\":\"%s\",\"reason\":",
               tss_req_type_name(view.type), digest, rhx);
        tssctl_json_str(stdout, d.reason);
        printf("}\n");
    } else {
        printf("%s: %s\n%s request, digest 0x%s\nrequestHash: %s\n", d.allow ? "allow" : "refuse",
               d.reason, tss_req_type_name(view.type), digest, rhx);
    }
    tss_writer_free(&enc);
    tss_policy_free(&p);
    return d.allow ? 0 : 77; /* EX_NOPERM: the policy refuses it */
}

int tssctl_policy(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: tssctl policy check POLICY.yaml --key-id ID [--path m/0/N]\n"
                   "           (--tx FILE.json | --typed-data FILE.json | --message TEXT |\n"
                   "            --digest HEX32 | --request FILE) [--at UNIX_SECONDS] [--json]\n"
                   "Evaluate a request against a party's signing policy offline (windows\n"
                   "empty, approvals absent): allow (exit 0) or refuse (exit 77), naming the\n"
                   "rule; also prints the digest and the request hash approvers sign.\n");
            return 0;
        }
    if (argc >= 1 && strcmp(argv[0], "check") == 0) return policy_check(argc - 1, argv + 1);
    return tssctl_usage_error("policy: expected 'check'");
}
