/* Fuzz the policy file (YAML through config/schema.h into policy/policy.h):
 * load must not crash or leak; a loaded policy is evaluated against a few
 * fixed requests (must not crash; a decision always names a rule or none). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_policy p;
    if (!tss_is_ok(tss_policy_load_buffer(&p, "fuzz.yaml", (const char *)data, size))) return 0;
    static const char *const keys[] = {"k", "treasury", "ops"};
    for (unsigned t = 0; t < TSS_REQ_TYPE_COUNT; t++)
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            tss_req_view v;
            memset(&v, 0, sizeof v);
            v.type = (uint8_t)t;
            v.has_chain_id = t == TSS_REQ_TX;
            v.chain_id[31] = 1;
            v.has_to = true;
            memset(v.to, 0x35, 20);
            v.value[31] = (uint8_t)(k * 100);
            tss_policy_input in = {keys[k], &v, NULL, 1700000000000ull + k * 3600000, NULL, NULL};
            tss_policy_decision d;
            tss_policy_evaluate(&p, &in, &d);
            if (d.allow && d.rule < 0) abort();
            if (strlen(d.reason) >= sizeof d.reason) abort();
        }
    tss_policy_free(&p);
    return 0;
}
