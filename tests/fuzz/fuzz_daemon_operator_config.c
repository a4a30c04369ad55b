/* Fuzz the operator (tssctl) configuration loader: any input is either
 * loaded or refused with a TSS_E_CONFIG "file:line:col" error, never a crash
 * or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/operator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_operator_config cfg;
    memset(&cfg, 0, sizeof cfg);
    tss_result r = tss_config_operator_load_buffer(&cfg, "fuzz.yaml", (const char *)data, size);
    if (tss_is_ok(r)) {
        if (cfg.coordinator.address_count < 1 || !cfg.tls.cert || !cfg.tls.key || !cfg.tls.ca) abort();
        tss_config_operator_free(&cfg);
    } else if (r.err != TSS_E_CONFIG && r.err != TSS_E_NOMEM) {
        abort();
    }
    return 0;
}
