/* Fuzz identity parsing. The first byte picks the target:
 *   even: the URN parser on the rest; an accepted URN must format back to
 *         exactly the input (the grammar is canonical) and reparse equal;
 *   odd:  a DER certificate through wolfSSL's X509 parser and our SAN
 *         extraction and certificate facts; an accepted identity must format
 *         to a URN that parses to the same identity. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/certinfo.h"
#include "tls/identity.h"
#include "util/log.h"

static void check_roundtrip(const tss_tls_identity *id) {
    char urn[TSS_TLS_URN_MAX];
    tss_tls_identity_format(id, urn, sizeof urn);
    tss_tls_identity again;
    if (!tss_is_ok(tss_tls_identity_parse(urn, strlen(urn), &again))) __builtin_trap();
    if (!tss_tls_identity_equal(id, &again)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int quiet;
    if (!quiet) tss_log_set_level(-1), quiet = 1;
    if (size < 1 || size > 16384) return 0;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    tss_tls_identity id;
    if ((data[0] & 1) == 0) {
        if (tss_is_ok(tss_tls_identity_parse((const char *)body, len, &id))) {
            char urn[TSS_TLS_URN_MAX];
            tss_tls_identity_format(&id, urn, sizeof urn);
            if (strlen(urn) != len || memcmp(urn, body, len) != 0) __builtin_trap();
            check_roundtrip(&id);
        }
        return 0;
    }
    if (tss_is_ok(tss_tls_identity_from_der(body, len, &id))) {
        if (id.role == TSS_TLS_ROLE_NONE) __builtin_trap();
        check_roundtrip(&id);
    }
    tss_tls_cert_info info;
    if (tss_is_ok(tss_tls_cert_info_from_der(body, len, &info))) {
        if (strlen(info.fingerprint) != 64) __builtin_trap();
        if (info.serial.len == 0 || info.serial.len > TSS_TLS_SERIAL_MAX) __builtin_trap();
    }
    return 0;
}
