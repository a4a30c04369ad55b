/* The postgresql back-end of daemon/coordinator/store.h (store_pg.c); only
 * store.c calls these. Schema and migrations: docs/STORAGE.md. */
#ifndef TSS_DAEMON_COORDINATOR_STORE_PG_H
#define TSS_DAEMON_COORDINATOR_STORE_PG_H

#include "daemon/coordinator/coord.h"

/* The newest schema version this binary knows. */
#define COORD_PG_SCHEMA_VERSION 1

/* Connect and migrate; load: also read every key and its ready presignatures. */
TSS_MUST_CHECK tss_result coord_pg_open(coord *co, bool load);
void coord_pg_close(coord *co);
TSS_MUST_CHECK tss_result coord_pg_check(coord *co);
const char *coord_pg_unavailable(coord *co);
void coord_pg_refresh(coord *co);
key_entry *coord_pg_key_find(coord *co, const char *key_id, bool force_sync);
/* import: the row may exist already with the same text (not adopted). */
TSS_MUST_CHECK tss_result coord_pg_key_add(coord *co, const tss_keyfile *kf, const char *text,
                                           bool import);
/* Replace the keys row's key file (it must exist). */
TSS_MUST_CHECK tss_result coord_pg_key_update(coord *co, const char *key_id, const char *text);
TSS_MUST_CHECK tss_result coord_pg_presig_add(coord *co, key_entry *k, const coord_presig *p);
TSS_MUST_CHECK tss_result coord_pg_presig_claim(coord *co, key_entry *k, const coord_presig *p);
TSS_MUST_CHECK tss_result coord_pg_audit(coord *co, const char *op, bool durable,
                                         const char *body, size_t len);
TSS_MUST_CHECK tss_result coord_pg_session_id(coord *co, const uint8_t sid[16]);

/* Migration helpers (store.c): a used presignature and an imported audit
 * record (source names the file and line). */
TSS_MUST_CHECK tss_result coord_pg_presig_import(coord *co, const char *key_id,
                                                 const coord_presig *p, bool used);
TSS_MUST_CHECK tss_result coord_pg_audit_import(coord *co, const char *body, size_t len,
                                                const char *source);
TSS_MUST_CHECK tss_result coord_pg_begin(coord *co);
TSS_MUST_CHECK tss_result coord_pg_commit(coord *co);
void coord_pg_rollback(coord *co);

void coord_pg_cost_take(coord *co, unsigned *calls, uint64_t *us);

#endif
