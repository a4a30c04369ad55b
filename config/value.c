#include "config/value.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Leading decimal digits of s as a u64; *end after them. False on no digits,
 * a leading zero followed by more digits, or overflow. */
static bool parse_decimal(const char *s, uint64_t *out, const char **end) {
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return false;
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9') return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    *end = p;
    return true;
}

bool tss_config_parse_int(const char *s, int64_t *out) {
    bool neg = *s == '-';
    uint64_t v;
    const char *end;
    if (!parse_decimal(s + neg, &v, &end) || *end) return false;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > INT64_MAX) return false;
        *out = (int64_t)v;
    }
    return true;
}

struct unit {
    const char *name;
    uint64_t mul;
};

static bool scaled(const char *s, const struct unit *units, bool unit_required, uint64_t *out) {
    uint64_t v;
    const char *end;
    if (!parse_decimal(s, &v, &end)) return false;
    if (!*end && !unit_required) {
        *out = v;
        return true;
    }
    for (; units->name; units++) {
        if (strcmp(end, units->name) != 0) continue;
        if (v > UINT64_MAX / units->mul) return false;
        *out = v * units->mul;
        return true;
    }
    return false;
}

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {NULL, 0}};

bool tss_config_parse_duration(const char *s, uint64_t *ms) {
    return scaled(s, duration_units, true, ms);
}

bool tss_config_parse_size(const char *s, uint64_t *bytes) {
    static const struct unit units[] = {
        {"B", 1}, {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024 * 1024 * 1024}, {NULL, 0}};
    return scaled(s, units, false, bytes);
}

void tss_config_format_duration(char *out, size_t cap, uint64_t ms) {
    for (int i = 4; i > 0; i--) {
        if (ms && ms % duration_units[i].mul == 0) {
            snprintf(out, cap, "%" PRIu64 "%s", ms / duration_units[i].mul, duration_units[i].name);
            return;
        }
    }
    snprintf(out, cap, "%" PRIu64 "ms", ms);
}

static bool ldh(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool tss_config_valid_hostname(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > TSS_CONFIG_HOST_MAX) return false;
    const char *label = s;
    bool numeric = true;
    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            size_t len = (size_t)(p - label);
            if (len == 0 || len > 63 || label[0] == '-' || p[-1] == '-') return false;
            if (*p == '\0') return !numeric;
            label = p + 1;
            numeric = true;
            continue;
        }
        if (!ldh(*p)) return false;
        if (*p < '0' || *p > '9') numeric = false;
    }
}

static bool all_digits_and_dots(const char *s) {
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == '.')) return false;
    return true;
}

bool tss_config_parse_addr(const char *s, tss_config_addr *out, char *err, size_t err_cap) {
    char host[TSS_CONFIG_HOST_MAX + 1];
    const char *port_text;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        size_t n = close ? (size_t)(close - s - 1) : 0;
        if (!close || close[1] != ':' || n == 0 || n >= sizeof host) {
            snprintf(err, err_cap, "expected [IPv6]:port");
            return false;
        }
        memcpy(host, s + 1, n);
        host[n] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            snprintf(err, err_cap, "'%s' is not an IPv6 address", host);
            return false;
        }
        port_text = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            snprintf(err, err_cap, "expected host:port");
            return false;
        }
        size_t n = (size_t)(colon - s);
        if (memchr(s, ':', n)) {
            snprintf(err, err_cap, "an IPv6 address must be written as [address]:port");
            return false;
        }
        if (n == 0 || n >= sizeof host) {
            snprintf(err, err_cap, "host must be 1..%d characters", TSS_CONFIG_HOST_MAX);
            return false;
        }
        memcpy(host, s, n);
        host[n] = '\0';
        struct in_addr a4;
        if (all_digits_and_dots(host) ? inet_pton(AF_INET, host, &a4) != 1
                                      : !tss_config_valid_hostname(host)) {
            snprintf(err, err_cap, "'%s' is not a valid host name or IPv4 address", host);
            return false;
        }
        port_text = colon + 1;
    }
    int64_t port;
    if (!tss_config_parse_int(port_text, &port) || port < 1 || port > 65535) {
        snprintf(err, err_cap, "port must be a number in 1..65535");
        return false;
    }
    memcpy(out->host, host, strlen(host) + 1);
    out->port = (uint16_t)port;
    return true;
}
