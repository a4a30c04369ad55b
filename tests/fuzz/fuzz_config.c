/* Fuzz the YAML config loader through its buffer API, with both schemas.
 *
 * Invariants: a failure is TSS_E_CONFIG (or NOMEM) with a "name:" detail and
 * leaves the struct zeroed; a success yields values inside the schema's
 * bounds and frees cleanly (ASan/LSan check the rest). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/coordinator.h"
#include "config/party.h"

static bool all_zero(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

static void check_failure(tss_result r, const void *cfg, size_t size, const char *name) {
    if (r.err != TSS_E_CONFIG && r.err != TSS_E_NOMEM) abort();
    if (strncmp(tss_error_detail(), name, strlen(name)) != 0) abort();
    if (!all_zero(cfg, size)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;

    tss_party_config p;
    tss_result r = tss_config_party_load_buffer(&p, "party.yaml", buf, size);
    if (tss_is_ok(r)) {
        if (p.party_id < 1 || p.party_id > 32 || !p.keystore.dir || !p.tls.cert ||
            p.peer_count < 1 || p.peer_count > 31 || p.coordinator.address_count < 1 ||
            p.keystore.passphrase.kind < 1 || p.keystore.passphrase.kind > 3 ||
            p.timeouts.backoff_initial > p.timeouts.backoff_max || !p.state_dir)
            abort();
        for (size_t i = 0; i < p.peer_count; i++)
            if (p.peers[i].id == p.party_id) abort();
        tss_config_party_free(&p);
        if (!all_zero(&p, sizeof p)) abort();
    } else {
        check_failure(r, &p, sizeof p, "party.yaml");
    }

    tss_coordinator_config c;
    r = tss_config_coordinator_load_buffer(&c, "coordinator.yaml", buf, size);
    if (tss_is_ok(r)) {
        if (c.party_count < 2 || c.party_count > 32 || !c.tls.key ||
            c.timeouts.idle <= c.timeouts.heartbeat || c.limits.max_frame_size < 1024)
            abort();
        tss_config_coordinator_free(&c);
    } else {
        check_failure(r, &c, sizeof c, "coordinator.yaml");
    }
    return 0;
}
