/* The operator (tssctl) schema: deliberately small. */
#include "config/operator.h"

#include <stdio.h>
#include <string.h>

#include "wire/frame.h"

#define MS(x) ((int64_t)(x))
#define SEC(x) ((int64_t)(x) * 1000)
#define MINUTES(x) ((int64_t)(x) * 60000)
#define HOUR(x) ((int64_t)(x) * 3600000)

static const tss_config_item coordinator_items[] = {
    {.name = "address", .type = TSS_CONFIG_ADDR, .flags = TSS_CONFIG_REQUIRED | TSS_CONFIG_LIST,
     .offset = offsetof(tss_operator_coordinator_config, address),
     .count_offset = offsetof(tss_operator_coordinator_config, address_count), .min_count = 1,
     .max_count = 8},
    {0},
};

static const tss_config_item timeouts_items[] = {
    {.name = "connect", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = MINUTES(5),
     .def = "10s", .offset = offsetof(tss_operator_timeouts_config, connect)},
    {.name = "request", .type = TSS_CONFIG_DURATION, .min = MS(100), .max = HOUR(1),
     .def = "30s", .offset = offsetof(tss_operator_timeouts_config, request)},
    {0},
};

static const tss_config_item operator_items[] = {
    {.name = "coordinator", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_operator_config, coordinator), .sub = coordinator_items,
     .size = sizeof(tss_operator_coordinator_config)},
    {.name = "tls", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_operator_config, tls), .sub = tss_config_tls_items,
     .size = sizeof(tss_config_tls)},
    {.name = "max_frame_size", .type = TSS_CONFIG_SIZE, .min = TSS_WIRE_MIN_FRAME,
     .max = TSS_WIRE_MAX_FRAME, .def = "1MiB", .offset = offsetof(tss_operator_config, max_frame_size)},
    {.name = "timeouts", .type = TSS_CONFIG_SECTION,
     .offset = offsetof(tss_operator_config, timeouts), .sub = timeouts_items,
     .size = sizeof(tss_operator_timeouts_config)},
    {0},
};

const tss_config_item tss_config_operator_schema = {
    .name = NULL, .type = TSS_CONFIG_SECTION, .sub = operator_items,
    .size = sizeof(tss_operator_config),
};

tss_result tss_config_operator_load_file(tss_operator_config *out, const char *path) {
    return tss_config_load_file(&tss_config_operator_schema, out, path);
}

tss_result tss_config_operator_load_buffer(tss_operator_config *out, const char *name,
                                           const char *buf, size_t len) {
    return tss_config_load_buffer(&tss_config_operator_schema, out, name, buf, len);
}

void tss_config_operator_free(tss_operator_config *cfg) {
    tss_config_free(&tss_config_operator_schema, cfg);
}
