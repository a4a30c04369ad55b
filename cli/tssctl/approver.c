/* tssctl approver-keygen / approve / approval show: operator approvals
 * (policy/approval.h, docs/OPERATIONS.md "Approvals"). Offline: no
 * coordinator involved; the approval file is handed to whoever submits the
 * request (tssctl sign --approval, the gateway). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/tssctl/tssctl.h"
#include "config/value.h"
#include "keystore/passphrase.h"
#include "keystore/sealed.h"
#include "policy/approval.h"
#include "policy/approver_key.h"
#include "policy/request.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/secmem.h"

#define APPROVAL_FILE_MAX 4096
#define APPROVAL_FORMAT "tssd-approval-v1"

/* Passphrase source options shared by both commands. */
static int pass_option(const char *opt, const char *arg, tss_passphrase_source *src,
                       int *sources) {
    if (strcmp(opt, "--passphrase-file") == 0) {
        src->kind = TSS_PASS_FILE, src->path = arg;
    } else if (strcmp(opt, "--passphrase-credential") == 0) {
        src->kind = TSS_PASS_CREDENTIAL, src->name = arg;
    } else if (strcmp(opt, "--passphrase-fd") == 0) {
        char *end = NULL;
        errno = 0;
        long fd = strtol(arg, &end, 10);
        if (errno || !end || *end || fd < 0 || fd > 65535)
            return tssctl_usage_error("--passphrase-fd needs a file descriptor number");
        src->kind = TSS_PASS_FD, src->fd = (int)fd;
    } else {
        return -1;
    }
    (*sources)++;
    return 0;
}

static int pass_finish(tss_passphrase_source *src, int sources) {
    if (sources > 1) return tssctl_usage_error("give only one passphrase source");
    if (sources == 0) {
        if (!isatty(STDIN_FILENO))
            return tssctl_usage_error("no passphrase source (--passphrase-file F, "
                                      "--passphrase-fd N or --passphrase-credential NAME)");
        src->kind = TSS_PASS_PROMPT;
    }
    return 0;
}

int tssctl_approver_keygen(int argc, char **argv) {
    const char *name = NULL, *out = NULL, *kdf_name = "moderate";
    tss_passphrase_source src = {.kind = TSS_PASS_NONE};
    int sources = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--name") == 0 && has) name = argv[++i];
        else if (strcmp(a, "--out") == 0 && has) out = argv[++i];
        else if (strcmp(a, "--kdf") == 0 && has) kdf_name = argv[++i];
        else if (has && strncmp(a, "--passphrase-", 13) == 0) {
            int rc = pass_option(a, argv[i + 1], &src, &sources);
            if (rc > 0) return rc;
            if (rc < 0) return tssctl_usage_error("approver-keygen: unexpected argument '%s'", a);
            i++;
        } else
            return tssctl_usage_error("approver-keygen: unexpected argument '%s'", a);
    }
    if (!name || !out) return tssctl_usage_error("approver-keygen needs --name NAME and --out DIR");
    if (!tss_approval_name_valid(name, strlen(name)))
        return tssctl_usage_error("--name: 1..64 characters of [A-Za-z0-9._-]");
    tss_kdf_params kdf;
    if (!tss_is_ok(tss_kdf_profile_lookup(kdf_name, &kdf)))
        return tssctl_usage_error("--kdf: interactive, moderate or sensitive");
    int rc = pass_finish(&src, sources);
    if (rc) return rc;
    tss_passphrase pass = {0};
    tss_result r = tss_passphrase_read(&src, "New approver key passphrase: ", true, &pass);
    uint8_t pk[32];
    if (tss_is_ok(r)) r = tss_approver_key_generate(out, name, &kdf, pass.bytes, pass.len, pk);
    tss_passphrase_free(&pass);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    char pin[64];
    tss_approver_key_pin_text(pin, sizeof pin, pk);
    fprintf(stderr, "wrote %s/%s%s (sealed; keep it and its passphrase with %s only)\n", out,
            name, TSS_APPROVER_KEY_SUFFIX, name);
    printf("# pin in every party's configuration (approvals.approvers):\n"
           "    - name: %s\n"
           "      public_key: %s\n",
           name, pin);
    return 0;
}

static void iso8601(char *out, size_t cap, uint64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (t > (uint64_t)253402300799ull || !gmtime_r(&tt, &tm)) {
        snprintf(out, cap, "-");
        return;
    }
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_approval_json(FILE *f, const tss_approval *a) {
    tss_writer w;
    tss_writer_init(&w, TSS_APPROVAL_BLOB_MAX);
    if (!tss_is_ok(tss_approval_encode(a, &w))) {
        tss_writer_free(&w);
        return;
    }
    char blob[2 * TSS_APPROVAL_BLOB_MAX + 1], hash[65], nonce[33], iso[32];
    tss_hex_encode(blob, w.data, w.len);
    tss_hex_encode(hash, a->request_hash, 32);
    tss_hex_encode(nonce, a->nonce, 16);
    iso8601(iso, sizeof iso, a->expires);
    fprintf(f,
            "{\"format\":\"" APPROVAL_FORMAT "\",\"approver\":\"%s\",\"keyId\":\"%s\","
            "\"requestHash\":\"%s\",\"expires\":%llu,\"expiresIso\":\"%s\",\"nonce\":\"%s\","
            "\"approval\":\"%s\"}\n",
            a->approver, a->key_id, hash, (unsigned long long)a->expires, iso, nonce, blob);
    tss_writer_free(&w);
}

/* Read an approval file written by `tssctl approve`: the "approval" field is
 * what counts; the readable fields beside it must agree with it. */
tss_result tssctl_approval_read(const char *path, tss_approval *out) {
    FILE *f = fopen(path, "rb");
    TSS_ENSURE(f != NULL, errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO, "%s: %s", path,
               strerror(errno));
    char buf[APPROVAL_FILE_MAX + 1];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    TSS_ENSURE(len <= APPROVAL_FILE_MAX, TSS_E_TOO_LARGE, "%s: larger than %d bytes", path,
               APPROVAL_FILE_MAX);
    tss_json_doc *doc = NULL;
    tss_result r = tss_json_parse(&doc, buf, len, NULL);
    if (!tss_is_ok(r)) {
        char why[300];
        snprintf(why, sizeof why, "%s", tss_error_detail());
        return tss_fail(TSS_E_INVALID, "%s: %s", path, why);
    }
    const tss_json_value *root = tss_json_root(doc);
    const tss_json_value *fmt = tss_json_get(root, "format");
    const tss_json_value *hex = tss_json_get(root, "approval");
    uint8_t blob[TSS_APPROVAL_BLOB_MAX];
    size_t blen = 0;
    if (!fmt || fmt->type != TSS_JSON_STRING || strcmp(fmt->u.str.text, APPROVAL_FORMAT) != 0) {
        r = tss_fail(TSS_E_INVALID, "%s: not an approval file (\"format\" is not \"%s\")", path,
                     APPROVAL_FORMAT);
    } else if (!hex || hex->type != TSS_JSON_STRING || hex->u.str.len % 2 != 0 ||
               hex->u.str.len / 2 > sizeof blob) {
        r = tss_fail(TSS_E_INVALID, "%s: \"approval\" must be a hex string of at most %d bytes",
                     path, TSS_APPROVAL_BLOB_MAX);
    } else {
        blen = hex->u.str.len / 2;
        r = tss_hex_decode(blob, blen, hex->u.str.text, "approval");
        if (tss_is_ok(r)) r = tss_approval_decode(blob, blen, out);
        if (!tss_is_ok(r)) {
            char why[300];
            snprintf(why, sizeof why, "%s", tss_error_detail());
            r = tss_fail(TSS_E_INVALID, "%s: \"approval\": %s", path, why);
        }
    }
    if (tss_is_ok(r)) {
        /* The readable fields are what a human checks: they must not lie. */
        const tss_json_value *ap = tss_json_get(root, "approver"), *k = tss_json_get(root, "keyId"),
                             *h = tss_json_get(root, "requestHash");
        char hash[65];
        tss_hex_encode(hash, out->request_hash, 32);
        if (!ap || ap->type != TSS_JSON_STRING || strcmp(ap->u.str.text, out->approver) != 0 ||
            !k || k->type != TSS_JSON_STRING || strcmp(k->u.str.text, out->key_id) != 0 || !h ||
            h->type != TSS_JSON_STRING || strcmp(h->u.str.text, hash) != 0)
            r = tss_fail(TSS_E_INVALID,
                         "%s: \"approver\", \"keyId\" or \"requestHash\" disagree with the signed "
                         "approval",
                         path);
    }
    tss_json_free(doc);
    return r;
}

int tssctl_approve(int argc, char **argv) {
    const char *key = NULL, *key_id = NULL, *hash_hex = NULL, *out = NULL, *expires_in = "1h";
    const char *kind = NULL, *arg = NULL;
    tss_bip32_path path = {0};
    tss_passphrase_source src = {.kind = TSS_PASS_NONE};
    int sources = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--key") == 0 && has) key = argv[++i];
        else if (strcmp(a, "--key-id") == 0 && has) key_id = argv[++i];
        else if (strcmp(a, "--request-hash") == 0 && has) hash_hex = argv[++i];
        else if (strcmp(a, "--expires-in") == 0 && has) expires_in = argv[++i];
        else if (strcmp(a, "--out") == 0 && has) out = argv[++i];
        else if (strcmp(a, "--path") == 0 && has) {
            tss_result r = tss_bip32_path_parse(&path, argv[++i]);
            if (!tss_is_ok(r)) return tssctl_fail(r);
        } else if (has && (strcmp(a, "--tx") == 0 || strcmp(a, "--typed-data") == 0 ||
                           strcmp(a, "--message") == 0 || strcmp(a, "--digest") == 0 ||
                           strcmp(a, "--request") == 0)) {
            if (kind) return tssctl_usage_error("approve takes one request");
            kind = a;
            arg = argv[++i];
        } else if (has && strncmp(a, "--passphrase-", 13) == 0) {
            int rc = pass_option(a, argv[i + 1], &src, &sources);
            if (rc > 0) return rc;
            if (rc < 0) return tssctl_usage_error("approve: unexpected argument '%s'", a);
            i++;
        } else
            return tssctl_usage_error("approve: unexpected argument '%s'", a);
    }
    if (!key || !key_id || (!hash_hex == !kind))
        return tssctl_usage_error("approve needs --key FILE, --key-id ID and the request (--tx F, "
                                  "--typed-data F, --message TEXT, --digest HEX, --request F) "
                                  "or --request-hash HEX");
    if (hash_hex && path.depth)
        return tssctl_usage_error("--path goes with the request, not --request-hash (the hash "
                                  "already covers the path)");
    tss_approval a;
    memset(&a, 0, sizeof a);
    if (!tss_approval_name_valid(key_id, strlen(key_id)))
        return tssctl_usage_error("--key-id: 1..64 characters of [A-Za-z0-9._-]");
    snprintf(a.key_id, sizeof a.key_id, "%s", key_id);
    if (hash_hex) {
        if (!tss_is_ok(tss_hex_decode(a.request_hash, 32, hash_hex, "--request-hash")))
            return tssctl_usage_error("--request-hash: 64 hex digits");
    } else {
        /* The same request content `tssctl sign` sends, hashed as every party hashes it. */
        tss_writer enc;
        tss_request req;
        tss_result r = tssctl_request_from(kind, arg, &enc);
        if (tss_is_ok(r)) r = tss_request_decode(&req, enc.data, enc.len);
        if (tss_is_ok(r)) {
            tss_req_view view;
            r = tss_request_evaluate(&req, &view); /* refuse what no party would accept */
        }
        if (tss_is_ok(r)) tss_request_hash(key_id, &path, &req, a.request_hash);
        tss_writer_free(&enc);
        if (!tss_is_ok(r)) return tssctl_fail(r);
    }
    uint64_t ms;
    if (!tss_config_parse_duration(expires_in, &ms) || ms < 1000 ||
        ms > (uint64_t)TSS_APPROVAL_MAX_LIFETIME_CAP * 1000)
        return tssctl_usage_error("--expires-in: a duration such as 15m, 1h, 1d (1s..30d)");
    int rc = pass_finish(&src, sources);
    if (rc) return rc;
    tss_approver_key *k = tss_secret_alloc(sizeof *k);
    if (!k) return tssctl_fail(tss_fail(TSS_E_NOMEM, "secret memory allocation failed"));
    tss_passphrase pass = {0};
    tss_result r = tss_passphrase_read(&src, "Approver key passphrase: ", false, &pass);
    if (tss_is_ok(r)) r = tss_approver_key_load(key, pass.bytes, pass.len, k);
    tss_passphrase_free(&pass);
    if (tss_is_ok(r)) {
        snprintf(a.approver, sizeof a.approver, "%s", k->name);
        a.expires = (uint64_t)time(NULL) + ms / 1000;
        randombytes_buf(a.nonce, sizeof a.nonce);
        r = tss_approval_sign(&a, k->secret_key);
    }
    tss_secret_free(k);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    FILE *f = stdout;
    if (out) {
        f = fopen(out, "wx");
        if (!f)
            return tssctl_fail(tss_fail(errno == EEXIST ? TSS_E_EXISTS : TSS_E_IO, "%s: %s", out,
                                        strerror(errno)));
    }
    print_approval_json(f, &a);
    if (out && fclose(f) != 0) return tssctl_fail(tss_fail(TSS_E_IO, "%s: write failed", out));
    return 0;
}

/* approval show FILE: decode and print an approval (no secret needed). */
int tssctl_approval(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[0], "show") != 0)
        return tssctl_usage_error("usage: approval show FILE");
    tss_approval a;
    tss_result r = tssctl_approval_read(argv[1], &a);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    print_approval_json(stdout, &a);
    return 0;
}
