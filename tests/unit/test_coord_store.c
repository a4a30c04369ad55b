/* The coordinator's storage interface (daemon/coordinator/store.h) on the
 * files back-end, linked with the coordinator's own objects (Makefile):
 * a key added through the interface is the same keys/<id>.json as before,
 * a presignature is recorded then claimed at most once, across a reopen
 * too, and the file formats are unchanged (the record is still the
 * "+"/"-" presignature record of daemon/presig_record.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "daemon/coordinator/coord.h"
#include "daemon/coordinator/store.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

static char dir[512];

static void open_store(coord *co) {
    memset(co, 0, sizeof *co);
    co->cfg.state_dir = dir;
    co->cfg.storage.backend = TSS_STORAGE_FILES;
    CHECK_OK(coord_store_open(co));
}

static void sample_info(tss_wire_key_info *info, uint8_t ids[TSS_WIRE_MAX_PARTIES + 1][32]) {
    memset(info, 0, sizeof *info);
    snprintf(info->key_id, sizeof info->key_id, "store-key");
    info->threshold = 2;
    info->count = 3;
    for (uint16_t i = 0; i < 3; i++) info->parties[i] = (uint16_t)(i + 1);
    /* A valid compressed point: the generator. */
    static const char g[] = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    for (size_t i = 0; i < 33; i++) {
        unsigned v;
        sscanf(g + 2 * i, "%2x", &v);
        info->public_key[i] = (uint8_t)v;
    }
    info->has_chain_code = 1;
    memset(info->chain_code, 7, sizeof info->chain_code);
    info->created_ms = 1700000000000ull;
    memset(ids, 0, (TSS_WIRE_MAX_PARTIES + 1) * 32);
    for (int i = 1; i <= 3; i++) memset(ids[i], i, 32);
}

static size_t count_lines(const char *path, char op) {
    size_t len = 0, n = 0;
    char *text = harness_read_file(path, &len);
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (l[0] == op && l[1] == ' ') n++;
    free(text);
    return n;
}

static void files_backend_through_the_interface(void) {
    harness_tmpdir(dir, sizeof dir);
    coord co;
    open_store(&co);
    CHECK(coord_store_unavailable(&co) == NULL);
    CHECK(coord_store_key_find(&co, "store-key") == NULL);
    tss_wire_key_info info;
    uint8_t ids[TSS_WIRE_MAX_PARTIES + 1][32];
    sample_info(&info, ids);
    uint8_t sid[16];
    randombytes_buf(sid, sizeof sid);
    CHECK_OK(coord_store_key_add(&co, &info, (const uint8_t(*)[32])ids, sid));
    char path[700];
    snprintf(path, sizeof path, "%s/keys/store-key.json", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    key_entry *k = coord_store_key_find(&co, "store-key");
    CHECK(k != NULL && k->info.threshold == 2 && k->n_presigs == 0);
    CHECK_OK(coord_store_session_id_claim(&co, sid));

    uint8_t a[32], b[32];
    randombytes_buf(a, sizeof a);
    randombytes_buf(b, sizeof b);
    const uint16_t signers[2] = {1, 3};
    tss_bip32_path root = {0};
    CHECK_OK(coord_store_presig_add(&co, k, a, signers, 2, &root));
    CHECK_OK(coord_store_presig_add(&co, k, b, signers, 2, &root));
    CHECK_ERR(coord_store_presig_add(&co, k, a, signers, 2, &root), TSS_E_EXISTS);
    CHECK(k->n_presigs == 2 && k->info.presignatures == 2);
    coord_presig got;
    CHECK_OK(coord_store_presig_claim(&co, k, 0, &got));
    CHECK(memcmp(got.id, a, 32) == 0 && got.count == 2 && got.signers[1] == 3);
    CHECK(k->n_presigs == 1 && memcmp(k->presigs[0].id, b, 32) == 0);
    /* The unchanged file format: two "+" records and one "-". */
    snprintf(path, sizeof path, "%s/presig/store-key.log", dir);
    CHECK(count_lines(path, '+') == 2 && count_lines(path, '-') == 1);
    CHECK_OK(coord_store_release(&co, "alice", true, "\"request\":\"sign\",\"key\":\"%s\"",
                                 "store-key"));
    coord_store_close(&co);

    /* Reopened: the claimed id is gone for good, the other one is there. */
    open_store(&co);
    k = coord_store_key_find(&co, "store-key");
    CHECK(k != NULL && k->n_presigs == 1 && memcmp(k->presigs[0].id, b, 32) == 0);
    CHECK_OK(coord_store_presig_claim(&co, k, 0, &got));
    CHECK(memcmp(got.id, b, 32) == 0 && k->n_presigs == 0);
    CHECK_ERR(coord_store_presig_claim(&co, k, 0, &got), TSS_E_INTERNAL);
    coord_store_close(&co);
    open_store(&co);
    k = coord_store_key_find(&co, "store-key");
    CHECK(k != NULL && k->n_presigs == 0);
    coord_store_close(&co);
    harness_rmtree(dir);
}

/* --migrate-storage refuses a config whose target is not postgresql. */
static void migrate_needs_postgresql(void) {
    harness_tmpdir(dir, sizeof dir);
    coord co;
    memset(&co, 0, sizeof co);
    co.cfg.state_dir = dir;
    CHECK_ERR(coord_store_migrate(&co), TSS_E_CONFIG);
    CHECK(strstr(tss_error_detail(), "storage.backend: postgresql") != NULL);
    coord_store_close(&co);
    harness_rmtree(dir);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(files_backend_through_the_interface);
    RUN(migrate_needs_postgresql);
    return harness_finish("coord_store");
}
