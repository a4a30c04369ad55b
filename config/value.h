/* Scalar syntax shared by the schema walker and the schema checks (config/ only).
 * All parsers are strict: the whole text must match, no whitespace, no signs
 * or bases beyond those listed, and overflow is an error, not a wrap. */
#ifndef TSS_CONFIG_VALUE_H
#define TSS_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/schema.h"

/* -?(0|[1-9][0-9]*) within int64. */
bool tss_config_parse_int(const char *s, int64_t *out);
/* <decimal><unit>, unit one of ms s m h d; the unit is mandatory. */
bool tss_config_parse_duration(const char *s, uint64_t *ms);
/* <decimal>[unit], unit one of B KiB MiB GiB; no unit means bytes. */
bool tss_config_parse_size(const char *s, uint64_t *bytes);
/* host:port with host a DNS name, dotted IPv4 or bracketed IPv6, port 1..65535. */
bool tss_config_parse_addr(const char *s, tss_config_addr *out, char *err, size_t err_cap);
/* A DNS name: dot-separated LDH labels of 1..63, at most 253 chars, last label
 * not numeric (so "1.2.3" is not mistaken for an address). */
bool tss_config_valid_hostname(const char *s);
/* "250ms", "30s", "5m", ... in the largest unit that is exact. */
void tss_config_format_duration(char *out, size_t cap, uint64_t ms);

#endif
