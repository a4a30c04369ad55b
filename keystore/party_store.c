#include "keystore/party_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc/keyshare.h"
#include "util/hex.h"
#include "util/secmem.h"

_Static_assert(TSS_SEALED_KEY_ID_MAX == TSS_KEY_ID_MAX, "key id limits agree");
_Static_assert(TSS_STORAGE_KEY_LEN == 32, "storage key size");

tss_result tss_store_key_id_check(const char *key_id) {
    TSS_GUARD(tss_key_id_check(key_id));
    TSS_ENSURE(strcmp(key_id, ".") != 0 && strcmp(key_id, "..") != 0, TSS_E_INVALID,
               "key id must not be '.' or '..'");
    return TSS_OK_RESULT;
}

tss_result tss_store_path(char *out, size_t cap, const char *state_dir, const char *sub,
                          const char *leaf) {
    int n = leaf ? snprintf(out, cap, "%s/%s/%s", state_dir, sub, leaf)
                 : snprintf(out, cap, "%s/%s", state_dir, sub);
    TSS_ENSURE(n > 0 && (size_t)n < cap, TSS_E_USAGE, "path too long under %s", state_dir);
    return TSS_OK_RESULT;
}

tss_result tss_store_ensure_dir(const tss_store_ctx *ctx, const char *sub, const char *leaf,
                                char *out, size_t cap) {
    TSS_GUARD(tss_dir_ensure_private(ctx->state_dir));
    TSS_GUARD(tss_store_path(out, cap, ctx->state_dir, sub, NULL));
    TSS_GUARD(tss_dir_ensure_private(out));
    if (leaf) {
        TSS_GUARD(tss_store_path(out, cap, ctx->state_dir, sub, leaf));
        TSS_GUARD(tss_dir_ensure_private(out));
    }
    return TSS_OK_RESULT;
}

tss_result tss_store_seal(const tss_store_ctx *ctx, uint8_t content, const char *key_id,
                          const uint8_t *plaintext, size_t len, tss_writer *out) {
    tss_sealed_header h = {.content = content, .party_id = ctx->party_id};
    memcpy(h.identity, ctx->keys->identity_public, sizeof h.identity);
    snprintf(h.key_id, sizeof h.key_id, "%s", key_id);
    return tss_sealed_seal_with_key(&h, ctx->keys->storage_key, plaintext, len, out);
}

static const char *content_name(uint8_t content) {
    switch (content) {
    case TSS_CONTENT_MNEMONIC: return "sealed mnemonic";
    case TSS_CONTENT_KEYSHARE: return "key share";
    case TSS_CONTENT_PRESIG: return "presignature";
    default: return "unknown content";
    }
}

static tss_result check_owner(const tss_store_ctx *ctx, const char *dir, const char *name,
                              const tss_sealed_header *h, uint8_t content, const char *key_id) {
    TSS_ENSURE(h->version == TSS_SEALED_VERSION_STORAGE && h->content == content, TSS_E_CORRUPT,
               "%s/%s is a %s (format version %u), expected a %s", dir, name,
               content_name(h->content), h->version, content_name(content));
    TSS_ENSURE(strcmp(h->key_id, key_id) == 0, TSS_E_CORRUPT,
               "%s/%s belongs to key id '%s', not '%s' (renamed or moved?); refusing it", dir,
               name, h->key_id, key_id);
    if (h->party_id != ctx->party_id ||
        !tss_ct_equal(h->identity, ctx->keys->identity_public, TSS_IDENTITY_PUBLIC_LEN)) {
        char theirs[TSS_IDENTITY_TEXT_LEN], ours[TSS_IDENTITY_TEXT_LEN];
        tss_identity_format(h->identity, theirs);
        tss_identity_format(ctx->keys->identity_public, ours);
        return tss_fail(TSS_E_CORRUPT,
                        "%s/%s belongs to party %u (%s), but this is party %u (%s); refusing it",
                        dir, name, h->party_id, theirs, ctx->party_id, ours);
    }
    return TSS_OK_RESULT;
}

tss_result tss_store_open(const tss_store_ctx *ctx, const char *dir, const char *name,
                          uint8_t content, const char *key_id, uint8_t **plaintext,
                          size_t *len) {
    uint8_t *file = NULL;
    size_t file_len = 0;
    TSS_GUARD(tss_file_read_private(dir, name, TSS_SEALED_MAX_FILE, &file, &file_len));
    tss_sealed_header h;
    const uint8_t *ct = NULL;
    uint8_t *plain = NULL;
    tss_result r = tss_sealed_parse(file, file_len, &h, &ct);
    if (!tss_is_ok(r)) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        r = tss_fail(r.err, "%s/%s: %s", dir, name, detail);
        goto out;
    }
    r = check_owner(ctx, dir, name, &h, content, key_id);
    if (!tss_is_ok(r)) goto out;
    size_t cap = h.ciphertext_len - TSS_SEALED_TAG_LEN;
    plain = tss_secret_alloc(cap ? cap : 1);
    if (!plain) {
        r = tss_fail(TSS_E_NOMEM, "secret memory allocation failed");
        goto out;
    }
    size_t plain_len = 0;
    r = tss_sealed_open_with_key(file, file_len, ctx->keys->storage_key, &h, plain, cap,
                                 &plain_len);
    if (!tss_is_ok(r)) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        r = tss_fail(r.err, "%s/%s: %s", dir, name, detail);
        goto out;
    }
    *plaintext = plain;
    *len = plain_len;
    plain = NULL;
out:
    tss_secret_free(plain);
    free(file);
    return r;
}
