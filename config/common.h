/* Pieces shared by the party and coordinator schemas. */
#ifndef TSS_CONFIG_COMMON_H
#define TSS_CONFIG_COMMON_H

#include "config/schema.h"

#define TSS_CONFIG_MAX_PARTIES 32 /* party ids are 1..32 (DESIGN.md §3) */

/* tls: certificate, key and CA (PEM files), optional CRL. */
typedef struct {
    char *cert;
    char *key;
    char *ca;
    char *crl; /* NULL when not configured */
} tss_config_tls;

extern const tss_config_item tss_config_tls_items[];
/* log_level names -> syslog priorities (LOG_DEBUG ... LOG_ERR). */
extern const tss_config_enum tss_config_log_levels[];

#endif
