/* Internals shared by the PKI files: a minimal DER writer and reader (for
 * the SAN extension and CRLs, which wolfSSL 5.5.4 cannot build for us), file
 * output, and loading the CA. */
#ifndef TSS_TLS_PKI_INTERNAL_H
#define TSS_TLS_PKI_INTERNAL_H

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/result.h"

#define DER_SEQUENCE 0x30
#define DER_INTEGER 0x02
#define DER_OCTET_STRING 0x04
#define DER_OID 0x06
#define DER_UTC_TIME 0x17
#define DER_GENERALIZED_TIME 0x18

/* Appends into a caller buffer; overflow is sticky and reported by der_ok. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool overflow;
} tss_tls_der;

void tss_tls_der_init(tss_tls_der *d, uint8_t *buf, size_t cap);
void tss_tls_der_raw(tss_tls_der *d, const void *p, size_t n);
void tss_tls_der_tlv(tss_tls_der *d, uint8_t tag, const void *val, size_t n);
/* A non-negative INTEGER from big-endian magnitude bytes. */
void tss_tls_der_uint(tss_tls_der *d, const uint8_t *be, size_t n);
/* UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5); out holds
 * the whole TLV (at most 17 bytes). */
size_t tss_tls_der_time(uint8_t out[17], time_t t);
TSS_MUST_CHECK tss_result tss_tls_der_ok(const tss_tls_der *d, const char *what);

/* One TLV at *off within len: tag, header size and value size. */
bool tss_tls_der_read(const uint8_t *p, size_t len, size_t *off, uint8_t *tag, size_t *hdr,
                      size_t *vlen);
/* The raw subject Name TLV of a DER certificate. */
TSS_MUST_CHECK tss_result tss_tls_der_cert_subject(const uint8_t *cert, size_t len,
                                                   const uint8_t **subj, size_t *subj_len);

/* Write dir/name atomically (temp file, fsync, then link or rename, fsync
 * dir). overwrite=false refuses an existing file (for keys). */
TSS_MUST_CHECK tss_result tss_tls_pki_write_file(const char *dir, const char *name,
                                                 const void *data, size_t len, mode_t mode,
                                                 bool overwrite);
TSS_MUST_CHECK tss_result tss_tls_pki_ensure_dir(const char *dir);
TSS_MUST_CHECK tss_result tss_tls_pki_refuse_existing(const char *dir, const char *name);

/* The CA of ca_dir: certificate (PEM text and DER) and its private key,
 * checked to belong together. */
typedef struct {
    uint8_t *pem;
    size_t pem_len;
    uint8_t der[4096];
    size_t der_len;
    ecc_key key;
    bool key_ready;
} tss_tls_pki_ca;

TSS_MUST_CHECK tss_result tss_tls_pki_ca_load(const char *ca_dir, tss_tls_pki_ca *ca);
void tss_tls_pki_ca_free(tss_tls_pki_ca *ca);

/* PEM of a DER object of wolfSSL type (CERT_TYPE, CRL_TYPE, ECC_PRIVATEKEY_TYPE). */
TSS_MUST_CHECK tss_result tss_tls_pki_to_pem(const uint8_t *der, size_t der_len, int type,
                                             uint8_t *out, size_t cap, size_t *out_len);

#endif
