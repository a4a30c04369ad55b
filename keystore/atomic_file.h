/* Private files: atomic writes (temp file, fsync, rename, fsync directory)
 * with mode 0600 in a 0700 directory, and reads that refuse files or
 * directories other users could read. */
#ifndef TSS_KEYSTORE_ATOMIC_FILE_H
#define TSS_KEYSTORE_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/file.h"
#include "util/result.h"


/* Create dir with mode 0700 if it does not exist; refuse it if it is not a
 * directory or group/other have any access. */
TSS_MUST_CHECK tss_result tss_dir_ensure_private(const char *dir);
TSS_MUST_CHECK tss_result tss_dir_check_private(const char *dir);

/* Write dir/name atomically. With replace=false an existing file is never
 * overwritten (TSS_E_EXISTS), even by a concurrent writer. */
TSS_MUST_CHECK tss_result tss_file_write_atomic(const char *dir, const char *name,
                                                const uint8_t *data, size_t len, bool replace,
                                                const tss_atomic_hooks *hooks);

/* Read dir/name (at most max bytes) into a malloc'd buffer, refusing a
 * symlink, a non-regular file, or a file group/other can access.
 * TSS_E_NOT_FOUND if it does not exist. */
TSS_MUST_CHECK tss_result tss_file_read_private(const char *dir, const char *name, size_t max,
                                                uint8_t **out, size_t *out_len);

#endif
