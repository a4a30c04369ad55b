/* Sealed approver keys (see policy/approver_key.h). */
#include "policy/approver_key.h"

#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore/atomic_file.h"
#include "util/bytes.h"
#include "util/secmem.h"

#define PLAIN_MAX (32 + 1 + TSS_APPROVER_NAME_MAX)
#define FILE_MAX (TSS_SEALED_HEADER_LEN + PLAIN_MAX + TSS_SEALED_TAG_LEN + TSS_SEALED_CHECKSUM_LEN)

void tss_approver_key_pin_text(char *out, size_t cap, const uint8_t pk[32]) {
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, cap, "ed25519:%s", b64);
}

tss_result tss_approver_key_generate(const char *dir, const char *name,
                                     const tss_kdf_params *kdf, const uint8_t *pass,
                                     size_t pass_len, uint8_t pk_out[32]) {
    size_t nl = strlen(name);
    TSS_ENSURE(tss_approval_name_valid(name, nl), TSS_E_USAGE,
               "approver name '%.80s' must be 1..64 characters of [A-Za-z0-9._-]", name);
    TSS_GUARD(tss_dir_ensure_private(dir));
    char file[TSS_APPROVER_NAME_MAX + sizeof TSS_APPROVER_KEY_SUFFIX];
    snprintf(file, sizeof file, "%s%s", name, TSS_APPROVER_KEY_SUFFIX);
    uint8_t *plain = tss_secret_alloc(PLAIN_MAX);
    uint8_t *sk = tss_secret_alloc(64);
    TSS_ENSURE(plain && sk, TSS_E_NOMEM, "secret memory allocation failed");
    uint8_t pk[32];
    crypto_sign_keypair(pk, sk);
    memcpy(plain, sk, 32); /* the seed */
    plain[32] = (uint8_t)nl;
    memcpy(plain + 33, name, nl);
    tss_sealed_header hdr = {.content = TSS_CONTENT_APPROVER_KEY, .kdf = *kdf, .party_id = 0};
    memcpy(hdr.identity, pk, 32);
    tss_writer w;
    tss_writer_init(&w, FILE_MAX);
    tss_result r = tss_sealed_seal(&hdr, pass, pass_len, plain, 33 + nl, &w);
    tss_secret_free(plain);
    tss_secret_free(sk);
    if (tss_is_ok(r)) r = tss_file_write_atomic(dir, file, w.data, w.len, false, NULL);
    tss_writer_free(&w);
    if (r.err == TSS_E_EXISTS)
        return tss_fail(TSS_E_EXISTS, "%s/%s already exists; not overwritten", dir, file);
    TSS_GUARD(r);
    memcpy(pk_out, pk, 32);
    return TSS_OK_RESULT;
}

tss_result tss_approver_key_load(const char *path, const uint8_t *pass, size_t pass_len,
                                 tss_approver_key *out) {
    char *d = strdup(path), *b = strdup(path);
    if (!d || !b) {
        free(d);
        free(b);
        return tss_fail(TSS_E_NOMEM, "out of memory");
    }
    const char *dir = dirname(d), *base = basename(b);
    uint8_t *file = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    tss_sealed_header hdr;
    tss_result r = tss_file_read_private(dir, base, FILE_MAX, &file, &len);
    if (tss_is_ok(r)) {
        const uint8_t *ct;
        r = tss_sealed_parse(file, len, &hdr, &ct);
        if (tss_is_ok(r) && hdr.content != TSS_CONTENT_APPROVER_KEY)
            r = tss_fail(TSS_E_CORRUPT, "not a sealed approver key (content %u)", hdr.content);
    }
    if (tss_is_ok(r)) {
        plain = tss_secret_alloc(PLAIN_MAX);
        if (!plain) r = tss_fail(TSS_E_NOMEM, "secret memory allocation failed");
    }
    if (tss_is_ok(r))
        r = tss_sealed_open(file, len, pass, pass_len, &hdr, plain, PLAIN_MAX, &plain_len);
    if (tss_is_ok(r)) {
        /* Authenticated: a bad layout is a writer bug or a forged file. */
        size_t nl = plain_len > 33 ? plain[32] : 0;
        if (plain_len != 33 + nl || !tss_approval_name_valid((const char *)plain + 33, nl)) {
            r = tss_fail(TSS_E_CORRUPT, "sealed approver key has an invalid layout");
        } else {
            memcpy(out->name, plain + 33, nl);
            out->name[nl] = '\0';
            crypto_sign_seed_keypair(out->public_key, out->secret_key, plain);
            char want[TSS_APPROVER_NAME_MAX + sizeof TSS_APPROVER_KEY_SUFFIX];
            snprintf(want, sizeof want, "%s%s", out->name, TSS_APPROVER_KEY_SUFFIX);
            if (!tss_ct_equal(out->public_key, hdr.identity, 32))
                r = tss_fail(TSS_E_CORRUPT, "public key in the header does not match the key");
            else if (strcmp(want, base) != 0)
                r = tss_fail(TSS_E_CORRUPT,
                             "file name %s does not match the approver name sealed inside (%s)",
                             base, out->name);
        }
    }
    if (!tss_is_ok(r)) {
        tss_wipe(out, sizeof *out);
        char why[300];
        snprintf(why, sizeof why, "%s", tss_error_detail());
        r = tss_fail(r.err, "%s: %s", path, why);
    }
    if (plain) tss_secret_free(plain);
    free(file);
    free(d);
    free(b);
    return r;
}
