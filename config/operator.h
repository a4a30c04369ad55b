/* Operator client (tssctl) configuration: where the coordinator is and which
 * operator certificate to present. The operator's name is the one in the
 * certificate (urn:tssd:operator:<name>); the coordinator must list it. */
#ifndef TSS_CONFIG_OPERATOR_H
#define TSS_CONFIG_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "config/common.h"
#include "config/schema.h"

typedef struct {
    tss_config_addr *address; /* tried in order, at least one */
    size_t address_count;
} tss_operator_coordinator_config;

typedef struct { /* milliseconds */
    uint64_t connect; /* TCP connect plus TLS handshake */
    uint64_t request; /* waiting for an answer */
} tss_operator_timeouts_config;

typedef struct tss_operator_config {
    tss_operator_coordinator_config coordinator;
    tss_config_tls tls;
    uint64_t max_frame_size;
    tss_operator_timeouts_config timeouts;
} tss_operator_config;

extern const tss_config_item tss_config_operator_schema;

TSS_MUST_CHECK tss_result tss_config_operator_load_file(tss_operator_config *out,
                                                        const char *path);
TSS_MUST_CHECK tss_result tss_config_operator_load_buffer(tss_operator_config *out,
                                                          const char *name, const char *buf,
                                                          size_t len);
void tss_config_operator_free(tss_operator_config *cfg);

#endif
