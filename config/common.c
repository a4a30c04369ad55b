#include "config/common.h"

#include <stddef.h>
#include <syslog.h>

const tss_config_item tss_config_tls_items[] = {
    {.name = "cert", .type = TSS_CONFIG_PATH, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_config_tls, cert)},
    {.name = "key", .type = TSS_CONFIG_PATH, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_config_tls, key)},
    {.name = "ca", .type = TSS_CONFIG_PATH, .flags = TSS_CONFIG_REQUIRED,
     .offset = offsetof(tss_config_tls, ca)},
    {.name = "crl", .type = TSS_CONFIG_PATH, .offset = offsetof(tss_config_tls, crl)},
    {0},
};

const tss_config_enum tss_config_log_levels[] = {
    {"debug", LOG_DEBUG}, {"info", LOG_INFO},   {"notice", LOG_NOTICE},
    {"warning", LOG_WARNING}, {"error", LOG_ERR}, {NULL, 0},
};
