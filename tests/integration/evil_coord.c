/* A replaying coordinator, for tests only (never part of a production
 * binary): the real coordinator objects linked with
 * -Wl,--wrap=randombytes_buf (tests/integration/sid_replay.sh). Every
 * 16-byte request returns the bytes of EVIL_SID (32 hex digits) when it is
 * set: the only 16-byte caller in the coordinator is the session id of a
 * SESSION_START (daemon/coordinator/session.c), so every session reuses one
 * id. Every other request goes to libsodium. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void __real_randombytes_buf(void *buf, size_t n);
void __wrap_randombytes_buf(void *buf, size_t n);

void __wrap_randombytes_buf(void *buf, size_t n) {
    const char *hex = getenv("EVIL_SID");
    if (n == 16 && hex && strlen(hex) == 32 &&
        sodium_hex2bin(buf, 16, hex, 32, NULL, NULL, NULL) == 0)
        return;
    __real_randombytes_buf(buf, n);
}
