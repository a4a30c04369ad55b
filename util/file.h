/* Durable file writes shared by every module that persists data: write the
 * whole buffer, fsync the file, put it in place atomically, fsync the
 * directory. No module-specific policy (permissions of the directory, what
 * to refuse) lives here. */
#ifndef TSS_UTIL_FILE_H
#define TSS_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/result.h"

/* Test seam: runs after the temporary file is durable and before it is put
 * in place; a failure aborts the write and removes the temporary file. */
typedef struct {
    tss_result (*before_rename)(void *ctx);
    void *ctx;
} tss_atomic_hooks;

/* fsync a directory, so a rename, link or unlink in it is durable. */
TSS_MUST_CHECK tss_result tss_fsync_dir(const char *dir);

/* Write all of data to fd, retrying short writes and EINTR. */
TSS_MUST_CHECK tss_result tss_write_all(int fd, const void *data, size_t len, const char *path);

/* Write dir/name atomically with the given mode (the temporary file has that
 * mode from creation). replace=false never overwrites an existing file
 * (TSS_E_EXISTS), even against a concurrent writer: the file is linked into
 * place rather than renamed. */
TSS_MUST_CHECK tss_result tss_file_write_atomic_mode(const char *dir, const char *name,
                                                     const void *data, size_t len, mode_t mode,
                                                     bool replace, const tss_atomic_hooks *hooks);

#endif
