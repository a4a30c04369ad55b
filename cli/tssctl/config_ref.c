/* tssctl config-reference [--check]: the configuration reference (docs/CONFIG.md). */
#include <string.h>

#include "cli/tssctl/tssctl.h"
#include "config/reference.h"

int tssctl_config_reference(int argc, char **argv) {
    bool check = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) check = true;
        else return tssctl_usage_error("config-reference: unexpected argument '%s'", argv[i]);
    }
    if (check) {
        size_t problems = tss_config_reference_check(stderr);
        return problems ? 65 : 0;
    }
    tss_config_reference_write(stdout);
    return 0;
}
