/* Fuzz the EIP-712 typed-data encoder (jansson parsing, type graph checks,
 * value encoding): any input either fails cleanly or hashes; hashing the same
 * input twice gives the same digest, and the audit summary always terminates
 * and stays printable ASCII. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eip712.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tss_eip712_result a, b;
    if (!tss_is_ok(tss_eip712_hash_json((const char *)data, size, &a))) return 0;
    if (!tss_is_ok(tss_eip712_hash_json((const char *)data, size, &b))) abort();
    if (memcmp(a.digest, b.digest, 32) != 0) abort();
    char line[256];
    tss_eip712_summary(&a, line, sizeof line);
    for (const char *p = line; *p; p++)
        if (*p < 0x20 || *p > 0x7e) abort();
    return 0;
}
