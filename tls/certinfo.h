/* What an operator needs to know about a certificate, for logs and status:
 * SHA-256 fingerprint, serial, validity, tssd identity. */
#ifndef TSS_TLS_CERTINFO_H
#define TSS_TLS_CERTINFO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tls/identity.h"
#include "util/result.h"

#define TSS_TLS_SERIAL_MAX 20

typedef struct {
    uint8_t bytes[TSS_TLS_SERIAL_MAX];
    size_t len;
} tss_tls_serial;

typedef struct {
    char fingerprint[65]; /* hex SHA-256 of the DER */
    tss_tls_serial serial;
    char serial_hex[2 * TSS_TLS_SERIAL_MAX + 1];
    time_t not_before, not_after;
    char not_before_iso[32], not_after_iso[32]; /* "2025-01-31T12:00:00Z" */
    tss_tls_identity identity;                  /* ROLE_NONE if it carries none */
} tss_tls_cert_info;

/* The first certificate of a PEM file. */
TSS_MUST_CHECK tss_result tss_tls_cert_info_from_file(const char *pem_path, tss_tls_cert_info *out);
TSS_MUST_CHECK tss_result tss_tls_cert_info_from_der(const uint8_t *der, size_t len,
                                                     tss_tls_cert_info *out);
/* Whole days until notAfter (negative once expired): the daemon warns from 30. */
long tss_tls_cert_days_left(const tss_tls_cert_info *info, time_t now);

#endif
