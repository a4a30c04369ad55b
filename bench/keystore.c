/* Unseal time of the mnemonic keystore for each KDF profile: the whole
 * tss_keystore_unseal (read, Argon2id, AEAD, BIP-39 seed, key derivation),
 * median wall time over several runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "keystore/keystore.h"
#include "util/secmem.h"

int bench_keystore(const bench_options *o) {
    char root[] = "/tmp/tss-bench-XXXXXX";
    if (!mkdtemp(root)) return 74;
    size_t count;
    const tss_kdf_profile *profiles = tss_kdf_profiles(&count);
    tss_passphrase pass = {tss_secret_alloc(TSS_PASSPHRASE_MAX + 2), 12};
    tss_bip39_entropy *ent = tss_secret_alloc(sizeof *ent);
    if (!pass.bytes || !ent || !tss_is_ok(tss_bip39_generate(ent, 24))) return 70;
    memcpy(pass.bytes, "bench-secret", 12);
    int rc = 0;
    if (o->json)
        printf("\"keystore_unseal\":[");
    else
        printf("%-12s %8s %10s %16s\n", "kdf", "opslimit", "memlimit", "unseal_ms_p50");
    for (size_t i = 0; i < count && !rc; i++) {
        char dir[64];
        snprintf(dir, sizeof dir, "%s/%s", root, profiles[i].name);
        tss_keystore_info info;
        if (!tss_is_ok(tss_keystore_create(dir, 1, ent, &pass, profiles[i].params, &info))) {
            rc = 70;
            break;
        }
        double samples[BENCH_MAX_RUNS];
        for (int r = 0; r < o->runs; r++) {
            double t0 = bench_wall_seconds();
            if (!tss_is_ok(tss_keystore_unseal(dir, &pass, NULL, NULL, NULL))) rc = 70;
            samples[r] = (bench_wall_seconds() - t0) * 1e3;
        }
        double med = bench_median(samples, (size_t)o->runs);
        if (o->json)
            printf("%s{\"kdf\":\"%s\",\"opslimit\":%u,\"memlimit\":%llu,\"runs\":%d,"
                   "\"unseal_ms_p50\":%.1f}",
                   i ? "," : "", profiles[i].name, profiles[i].params.opslimit,
                   (unsigned long long)profiles[i].params.memlimit, o->runs, med);
        else
            printf("%-12s %8u %6llu MiB %16.1f\n", profiles[i].name, profiles[i].params.opslimit,
                   (unsigned long long)(profiles[i].params.memlimit >> 20), med);
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, TSS_MNEMONIC_FILE);
        if (unlink(path) != 0 || rmdir(dir) != 0) rc = 74;
    }
    if (o->json) printf("]");
    rmdir(root);
    tss_passphrase_free(&pass);
    tss_secret_free(ent);
    return rc;
}
