/* tssctl pki: a private CA for tssd without any other PKI tool (tls/pki.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tssctl/tssctl.h"
#include "tls/certinfo.h"
#include "tls/identity.h"
#include "tls/pki.h"

#define MAX_REVOKE 256

static bool parse_days(const char *s, unsigned *out) {
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !end || *end || s[0] == '-' || v < 1 || v > TSS_TLS_PKI_MAX_DAYS) return false;
    *out = (unsigned)v;
    return true;
}

static void print_cert(const char *path) {
    tss_tls_cert_info info;
    if (!tss_is_ok(tss_tls_cert_info_from_file(path, &info))) return;
    printf("%s: sha256=%s serial=%s notAfter=%s\n", path, info.fingerprint, info.serial_hex,
           info.not_after_iso);
}

static int init_ca(int argc, char **argv) {
    const char *out = NULL;
    unsigned days = 3650;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            if (!parse_days(argv[++i], &days))
                return tssctl_usage_error("--days: expected 1..%u", TSS_TLS_PKI_MAX_DAYS);
        } else
            return tssctl_usage_error("pki init-ca: unexpected argument '%s'", argv[i]);
    }
    if (!out) return tssctl_usage_error("pki init-ca needs --out DIR");
    tss_result r = tss_tls_pki_init_ca(out, days);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    char path[4200];
    snprintf(path, sizeof path, "%s/ca.pem", out);
    print_cert(path);
    return 0;
}

static int issue(int argc, char **argv) {
    const char *ca = NULL, *urn = NULL, *out = NULL;
    const char *dns[TSS_TLS_PKI_MAX_NAMES], *ips[TSS_TLS_PKI_MAX_NAMES];
    size_t n_dns = 0, n_ips = 0;
    unsigned days = 365;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--ca") == 0 && has) ca = argv[++i];
        else if (strcmp(a, "--identity") == 0 && has) urn = argv[++i];
        else if (strcmp(a, "--out") == 0 && has) out = argv[++i];
        else if (strcmp(a, "--dns") == 0 && has) {
            if (n_dns == TSS_TLS_PKI_MAX_NAMES) return tssctl_usage_error("too many --dns");
            dns[n_dns++] = argv[++i];
        } else if (strcmp(a, "--ip") == 0 && has) {
            if (n_ips == TSS_TLS_PKI_MAX_NAMES) return tssctl_usage_error("too many --ip");
            ips[n_ips++] = argv[++i];
        } else if (strcmp(a, "--days") == 0 && has) {
            if (!parse_days(argv[++i], &days))
                return tssctl_usage_error("--days: expected 1..%u", TSS_TLS_PKI_MAX_DAYS);
        } else
            return tssctl_usage_error("pki issue: unexpected argument '%s'", a);
    }
    if (!ca || !urn || !out) return tssctl_usage_error("pki issue needs --ca, --identity and --out");
    tss_tls_identity id;
    tss_result r = tss_tls_identity_parse(urn, strlen(urn), &id);
    if (!tss_is_ok(r)) {
        fprintf(stderr, PROG ": --identity: %s\n", tss_error_detail());
        return 64;
    }
    r = tss_tls_pki_issue(ca, urn, out, dns, n_dns, ips, n_ips, days);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    char path[4200];
    snprintf(path, sizeof path, "%s/cert.pem", out);
    print_cert(path);
    return 0;
}

static int crl(int argc, char **argv) {
    const char *ca = NULL, *out = NULL;
    static tss_tls_serial serials[MAX_REVOKE];
    size_t n = 0;
    unsigned days = 30;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--ca") == 0 && has) ca = argv[++i];
        else if (strcmp(a, "--out") == 0 && has) out = argv[++i];
        else if (strcmp(a, "--revoke") == 0 && has) {
            if (n == MAX_REVOKE) return tssctl_usage_error("more than %d --revoke", MAX_REVOKE);
            tss_tls_cert_info info;
            tss_result r = tss_tls_cert_info_from_file(argv[++i], &info);
            if (!tss_is_ok(r)) return tssctl_fail(r);
            serials[n++] = info.serial;
        } else if (strcmp(a, "--days") == 0 && has) {
            if (!parse_days(argv[++i], &days))
                return tssctl_usage_error("--days: expected 1..%u", TSS_TLS_PKI_MAX_DAYS);
        } else
            return tssctl_usage_error("pki crl: unexpected argument '%s'", a);
    }
    if (!ca || !out) return tssctl_usage_error("pki crl needs --ca and --out");
    tss_result r = tss_tls_pki_make_crl(ca, serials, n, days, out);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    printf("%s: CRL revoking %zu certificate(s), next update in %u days\n", out, n, days);
    return 0;
}

static int show(int argc, char **argv) {
    const char *cert = NULL;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc) cert = argv[++i];
        else if (strcmp(argv[i], "--json") == 0) json = true;
        else return tssctl_usage_error("pki show: unexpected argument '%s'", argv[i]);
    }
    if (!cert) return tssctl_usage_error("pki show needs --cert FILE");
    tss_tls_cert_info info;
    tss_result r = tss_tls_cert_info_from_file(cert, &info);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    char urn[TSS_TLS_URN_MAX] = "";
    if (info.identity.role != TSS_TLS_ROLE_NONE) tss_tls_identity_format(&info.identity, urn, sizeof urn);
    if (json) {
        printf("{\"sha256\":\"%s\",\"serial\":\"%s\",\"notBefore\":\"%s\",\"notAfter\":\"%s\","
               "\"identity\":",
               info.fingerprint, info.serial_hex, info.not_before_iso, info.not_after_iso);
        if (urn[0]) tssctl_json_str(stdout, urn);
        else printf("null");
        printf("}\n");
    } else {
        printf("sha256:     %s\nserial:     %s\nnotBefore:  %s\nnotAfter:   %s\nidentity:   %s\n",
               info.fingerprint, info.serial_hex, info.not_before_iso, info.not_after_iso,
               urn[0] ? urn : "(none)");
    }
    return 0;
}

int tssctl_pki(int argc, char **argv) {
    if (argc < 1) return tssctl_usage_error("pki needs a subcommand (init-ca, issue, crl, show)");
    const char *sub = argv[0];
    if (strcmp(sub, "init-ca") == 0) return init_ca(argc - 1, argv + 1);
    if (strcmp(sub, "issue") == 0) return issue(argc - 1, argv + 1);
    if (strcmp(sub, "crl") == 0) return crl(argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0) return show(argc - 1, argv + 1);
    return tssctl_usage_error("unknown pki subcommand '%s'", sub);
}
