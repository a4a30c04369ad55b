/* The little DER we write ourselves: GeneralNames for the SAN extension and
 * the TBSCertList of a CRL; and the one thing we read: a certificate's raw
 * subject, which a CRL's issuer must repeat byte for byte. */
#include <wolfssl/options.h> /* first: wolfSSL build settings */

#include <stdio.h>
#include <string.h>

#include "tls/pki_internal.h"

void tss_tls_der_init(tss_tls_der *d, uint8_t *buf, size_t cap) {
    d->buf = buf;
    d->len = 0;
    d->cap = cap;
    d->overflow = false;
}

void tss_tls_der_raw(tss_tls_der *d, const void *p, size_t n) {
    if (d->overflow || n > d->cap - d->len) {
        d->overflow = true;
        return;
    }
    if (n) memcpy(d->buf + d->len, p, n);
    d->len += n;
}

void tss_tls_der_tlv(tss_tls_der *d, uint8_t tag, const void *val, size_t n) {
    uint8_t hdr[6];
    size_t h = 0;
    hdr[h++] = tag;
    if (n < 0x80) {
        hdr[h++] = (uint8_t)n;
    } else if (n <= 0xff) {
        hdr[h++] = 0x81;
        hdr[h++] = (uint8_t)n;
    } else if (n <= 0xffff) {
        hdr[h++] = 0x82;
        hdr[h++] = (uint8_t)(n >> 8);
        hdr[h++] = (uint8_t)n;
    } else {
        d->overflow = true; /* nothing we build is that large */
        return;
    }
    tss_tls_der_raw(d, hdr, h);
    tss_tls_der_raw(d, val, n);
}

void tss_tls_der_uint(tss_tls_der *d, const uint8_t *be, size_t n) {
    uint8_t v[1 + 32];
    while (n > 1 && be[0] == 0) be++, n--;
    if (n == 0 || n > 32) {
        d->overflow = true;
        return;
    }
    size_t k = 0;
    if (be[0] & 0x80) v[k++] = 0; /* keep it positive */
    memcpy(v + k, be, n);
    tss_tls_der_tlv(d, DER_INTEGER, v, k + n);
}

size_t tss_tls_der_time(uint8_t out[17], time_t t) {
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    char text[32];
    bool utc = year >= 1950 && year < 2050;
    size_t n = strftime(text, sizeof text, "%Y%m%d%H%M%SZ", &tm);
    if (n != 15) n = 0; /* year beyond 9999: callers cap validity well below */
    const char *val = text;
    if (utc && n) val += 2, n -= 2; /* UTCTime: two-digit year */
    out[0] = utc ? DER_UTC_TIME : DER_GENERALIZED_TIME;
    out[1] = (uint8_t)n;
    memcpy(out + 2, val, n);
    return n + 2;
}

tss_result tss_tls_der_ok(const tss_tls_der *d, const char *what) {
    TSS_ENSURE(!d->overflow, TSS_E_TOO_LARGE, "%s does not fit in %zu bytes", what, d->cap);
    return TSS_OK_RESULT;
}

bool tss_tls_der_read(const uint8_t *p, size_t len, size_t *off, uint8_t *tag, size_t *hdr,
                      size_t *vlen) {
    size_t o = *off;
    if (o >= len || len - o < 2) return false;
    *tag = p[o];
    size_t n = p[o + 1], h = 2;
    if (n & 0x80) {
        size_t k = n & 0x7f;
        if (k == 0 || k > 3 || len - o < 2 + k) return false;
        n = 0;
        for (size_t i = 0; i < k; i++) n = (n << 8) | p[o + 2 + i];
        h += k;
    }
    if (n > len - o - h) return false;
    *hdr = h;
    *vlen = n;
    return true;
}

tss_result tss_tls_der_cert_subject(const uint8_t *cert, size_t len, const uint8_t **subj,
                                    size_t *subj_len) {
    uint8_t tag;
    size_t off = 0, hdr, vlen;
    /* Certificate SEQUENCE, then into tbsCertificate SEQUENCE. */
    bool ok = tss_tls_der_read(cert, len, &off, &tag, &hdr, &vlen) && tag == DER_SEQUENCE;
    off += hdr;
    ok = ok && tss_tls_der_read(cert, len, &off, &tag, &hdr, &vlen) && tag == DER_SEQUENCE;
    off += hdr;
    /* [0] version (optional), serial, signature, issuer, validity: skip. */
    for (int field = 0; ok && field < 6; field++) {
        ok = tss_tls_der_read(cert, len, &off, &tag, &hdr, &vlen);
        if (!ok) break;
        if (field == 0 && tag != 0xa0) field++; /* no explicit version */
        if (field == 5) {
            ok = tag == DER_SEQUENCE;
            *subj = cert + off;
            *subj_len = hdr + vlen;
            break;
        }
        off += hdr + vlen;
    }
    TSS_ENSURE(ok, TSS_E_INVALID, "CA certificate DER does not parse (subject not found)");
    return TSS_OK_RESULT;
}
