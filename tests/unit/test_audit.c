/* The coordinator's audit log (daemon/audit.h) and the per-operator token
 * bucket (daemon/ratelimit.h): the chain, group commit flags, rotation by
 * size and by age, resume after a restart and after a torn write, and
 * verification detecting every single-byte flip, truncation, a removed or
 * reordered record, and a removed, reordered or renamed segment. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/audit.h"
#include "daemon/ratelimit.h"
#include "tests/unit/harness.h"
#include "util/secmem.h"

#define T0 1764700000000LL /* a fixed wall clock (ms) */

static tss_audit_options opts(uint64_t size, uint64_t age) {
    return (tss_audit_options){.rotate_size = size, .rotate_age_ms = age};
}

static void append(tss_audit *a, int i, bool durable) {
    char body[128];
    int n = snprintf(body, sizeof body, "{\"type\":\"request\",\"n\":%d,\"detail\":\"x y z\"}", i);
    CHECK_OK(tss_audit_append(a, body, (size_t)n, durable));
}

/* The segment file names in dir, sorted; returns the count. */
static size_t segments(const char *dir, char names[][300], size_t cap) {
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strncmp(e->d_name, "audit-", 6) == 0 && n < cap) snprintf(names[n++], 300, "%s", e->d_name);
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char t[300];
                memcpy(t, names[i], 300);
                memcpy(names[i], names[j], 300);
                memcpy(names[j], t, 300);
            }
    return n;
}

static char *seg_path(const char *dir, const char *name) {
    static char p[3][4096];
    static int k;
    k = (k + 1) % 3;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static bool verify_buf(const uint8_t *buf, size_t len, size_t *line) {
    tss_audit_chain c;
    tss_audit_chain_init(&c);
    size_t l = 0;
    bool ok = tss_is_ok(tss_audit_verify_segment(&c, buf, len, &l));
    if (line) *line = l;
    return ok;
}

static void chain_verifies_and_resumes(void) {
    char dir[256];
    harness_tmpdir(dir, sizeof dir);
    tss_audit_options o = opts(0, 0);
    tss_audit *a;
    CHECK_OK(tss_audit_open(&a, dir, &o, T0));
    CHECK(tss_audit_segment(a) == 1);
    for (int i = 0; i < 5; i++) append(a, i, false);
    CHECK(tss_audit_has_pending(a) && !tss_audit_needs_sync(a));
    CHECK_OK(tss_audit_flush(a, false, T0));
    /* A batch of read-only records is written but not synced. */
    CHECK(!tss_audit_has_pending(a) && tss_audit_has_unsynced(a));
    append(a, 5, true);
    CHECK(tss_audit_needs_sync(a));
    CHECK_OK(tss_audit_flush(a, false, T0));
    /* A durable record makes the same flush sync everything. */
    CHECK(!tss_audit_has_unsynced(a) && !tss_audit_needs_sync(a));
    uint8_t head[TSS_AUDIT_HASH_LEN];
    tss_audit_head(a, head);
    tss_audit_close(a);
    tss_audit_chain c;
    tss_audit_chain_init(&c);
    char bad[700];
    size_t line;
    CHECK_OK(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line));
    CHECK(c.records == 7 && c.segments == 1 && memcmp(c.head, head, sizeof head) == 0);
    /* Restart: the chain continues in the same segment. */
    CHECK_OK(tss_audit_open(&a, dir, &o, T0 + 1000));
    uint8_t head2[TSS_AUDIT_HASH_LEN];
    tss_audit_head(a, head2);
    CHECK(memcmp(head, head2, sizeof head) == 0 && tss_audit_segment(a) == 1);
    append(a, 6, true);
    tss_audit_close(a);
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line));
    CHECK(c.records == 8);
    /* A torn write (crash mid-append) is cut at the next start; the chain stays intact. */
    char names[4][300];
    CHECK(segments(dir, names, 4) == 1);
    int fd = open(seg_path(dir, names[0]), O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "{\"type\":\"requ", 13) == 13);
    close(fd);
    tss_audit_chain_init(&c);
    CHECK_ERR(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line), TSS_E_CORRUPT);
    CHECK(line == 9);
    CHECK_OK(tss_audit_open(&a, dir, &o, T0 + 2000));
    append(a, 7, false);
    tss_audit_close(a);
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line));
    CHECK(c.records == 9);
    /* Bodies outside printable ASCII are neutralised; non-objects refused. */
    CHECK_OK(tss_audit_open(&a, dir, &o, T0 + 3000));
    CHECK_OK(tss_audit_append(a, "{\"d\":\"a\nb\"}", 11, false));
    CHECK_ERR(tss_audit_append(a, "not json", 8, false), TSS_E_INVALID);
    CHECK_ERR(tss_audit_append(a, "{\"type\":\"segment\"}", 18, false), TSS_E_INVALID);
    tss_audit_close(a);
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line));
    CHECK(c.records == 10);
    harness_rmtree(dir);
}

/* A small log: segment file bytes out. */
static uint8_t *small_log(char *dir, size_t cap, size_t *len) {
    harness_tmpdir(dir, cap);
    tss_audit_options o = opts(0, 0);
    tss_audit *a;
    CHECK_OK(tss_audit_open(&a, dir, &o, T0));
    for (int i = 0; i < 3; i++) append(a, i, i == 2);
    tss_audit_close(a);
    char names[2][300];
    CHECK(segments(dir, names, 2) == 1);
    char *buf = harness_read_file(seg_path(dir, names[0]), len);
    return (uint8_t *)buf;
}

static void every_byte_flip_is_detected(void) {
    char dir[256];
    size_t len;
    uint8_t *buf = small_log(dir, sizeof dir, &len);
    size_t line;
    CHECK(verify_buf(buf, len, &line));
    size_t missed = 0;
    static const uint8_t masks[] = {0x01, 0x20, 0x80, 0xff};
    for (size_t i = 0; i < len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            buf[i] ^= masks[m];
            if (verify_buf(buf, len, &line) || line == 0) missed++;
            buf[i] ^= masks[m];
        }
    CHECK(missed == 0);
    /* The reported line is the flipped record's. */
    size_t nl = 0, off = 0;
    for (; off < len && nl < 2; off++) nl += buf[off] == '\n';
    buf[off + 5] ^= 1; /* inside line 3 */
    CHECK(!verify_buf(buf, len, &line) && line == 3);
    free(buf);
    harness_rmtree(dir);
}

static void truncation_removal_and_reordering_are_detected(void) {
    char dir[256];
    size_t len;
    uint8_t *buf = small_log(dir, sizeof dir, &len);
    size_t line;
    /* Every cut inside a record. */
    size_t missed = 0;
    for (size_t cut = 0; cut < len; cut++)
        if (cut == 0 || buf[cut - 1] != '\n')
            missed += verify_buf(buf, cut, &line);
    CHECK(missed == 0);
    /* Lines: header + 3 records. */
    size_t start[5], n = 0;
    start[n++] = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n') start[n++] = i + 1;
    CHECK(n == 5);
    uint8_t *out = malloc(len);
    /* Remove record 2 (line 3). */
    size_t o = 0;
    memcpy(out, buf, start[2]);
    o = start[2];
    memcpy(out + o, buf + start[3], len - start[3]);
    o += len - start[3];
    CHECK(!verify_buf(out, o, &line) && line == 3);
    /* Remove the header. */
    CHECK(!verify_buf(buf + start[1], len - start[1], &line) && line == 1);
    /* Swap records 1 and 2 (lines 2 and 3). */
    o = start[1];
    memcpy(out, buf, o);
    memcpy(out + o, buf + start[2], start[3] - start[2]);
    o += start[3] - start[2];
    memcpy(out + o, buf + start[1], start[2] - start[1]);
    o += start[2] - start[1];
    memcpy(out + o, buf + start[3], len - start[3]);
    o += len - start[3];
    CHECK(o == len && !verify_buf(out, o, &line) && line == 2);
    /* A record duplicated (replayed). */
    uint8_t *dup = malloc(len + (start[2] - start[1]));
    memcpy(dup, buf, start[2]);
    memcpy(dup + start[2], buf + start[1], start[2] - start[1]);
    memcpy(dup + start[2] + (start[2] - start[1]), buf + start[2], len - start[2]);
    CHECK(!verify_buf(dup, len + (start[2] - start[1]), &line) && line == 3);
    free(dup);
    /* A cut at a record boundary verifies on its own (no chain can see it)
     * but not against an anchor: the last hash recorded elsewhere. */
    tss_audit_chain c;
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_segment(&c, buf, len, &line));
    uint8_t anchor[TSS_AUDIT_HASH_LEN];
    memcpy(anchor, c.head, sizeof anchor);
    tss_audit_chain_init(&c);
    c.have_anchor = true;
    memcpy(c.anchor, anchor, sizeof anchor);
    CHECK_OK(tss_audit_verify_segment(&c, buf, len, &line));
    CHECK(c.anchor_found);
    tss_audit_chain_init(&c);
    c.have_anchor = true;
    memcpy(c.anchor, anchor, sizeof anchor);
    CHECK_OK(tss_audit_verify_segment(&c, buf, start[4 - 1], &line)); /* last record cut */
    CHECK(!c.anchor_found);
    free(out);
    free(buf);
    harness_rmtree(dir);
}

static void rotation_by_size_and_age_links_segments(void) {
    char dir[256], bad[700];
    harness_tmpdir(dir, sizeof dir);
    tss_audit_options o = opts(400, 60000);
    tss_audit *a;
    CHECK_OK(tss_audit_open(&a, dir, &o, T0));
    /* Each flush of 3 records (> 400 bytes with the header) fills the segment. */
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < 3; i++) append(a, b * 10 + i, true);
        CHECK_OK(tss_audit_flush(a, false, T0 + b));
    }
    CHECK(tss_audit_segment(a) == 3);
    /* Age: a small segment older than rotate_age is closed at the next write. */
    tss_audit_close(a);
    o = opts(1u << 20, 60000);
    CHECK_OK(tss_audit_open(&a, dir, &o, T0 + 10));
    append(a, 100, false);
    CHECK_OK(tss_audit_flush(a, false, T0 + 10));
    CHECK(tss_audit_segment(a) == 3); /* resumed; small and young: kept */
    append(a, 101, false);
    CHECK_OK(tss_audit_flush(a, false, T0 + 30000));
    CHECK(tss_audit_segment(a) == 3);
    append(a, 102, false);
    CHECK_OK(tss_audit_flush(a, false, T0 + 70000)); /* created at T0+2: older than 60 s */
    CHECK(tss_audit_segment(a) == 4);
    /* Nothing queued: no empty segments are created. */
    CHECK_OK(tss_audit_flush(a, true, T0 + 500000));
    CHECK(tss_audit_segment(a) == 4);
    tss_audit_close(a);
    char names[8][300];
    size_t n = segments(dir, names, 8);
    CHECK(n == 4);
    CHECK(strncmp(names[0], "audit-00000001-", 15) == 0 && strncmp(names[3], "audit-00000004-", 15) == 0);
    tss_audit_chain c;
    size_t line, bf;
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line));
    CHECK(c.segments == 4 && c.first_segment == 1 && c.segment == 4 && c.records == 4 + 12);
    const char *all[4];
    for (size_t i = 0; i < 4; i++) all[i] = strdup(seg_path(dir, names[i]));
    /* In order: intact. An archive that starts later (older segments moved away) verifies too. */
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_files(&c, all, 4, &bf, &line));
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_files(&c, all + 2, 2, &bf, &line));
    CHECK(c.first_segment == 3);
    /* Reordered, missing in the middle: broken at the right file, line 1. */
    const char *swapped[4] = {all[0], all[2], all[1], all[3]};
    tss_audit_chain_init(&c);
    CHECK_ERR(tss_audit_verify_files(&c, swapped, 4, &bf, &line), TSS_E_CORRUPT);
    CHECK(bf == 1 && line == 1);
    const char *gap[3] = {all[0], all[1], all[3]};
    tss_audit_chain_init(&c);
    CHECK_ERR(tss_audit_verify_files(&c, gap, 3, &bf, &line), TSS_E_CORRUPT);
    CHECK(bf == 2 && line == 1);
    /* A closed segment cut at a record boundary: the next one's link breaks. */
    size_t len;
    char *s2 = harness_read_file(all[1], &len);
    size_t cut = len - 1;
    while (cut > 0 && s2[cut - 1] != '\n') cut--;
    char cutp[4096];
    snprintf(cutp, sizeof cutp, "%s/cut.seg", dir);
    write_file(cutp, s2, cut);
    const char *cutlist[3] = {all[0], cutp, all[2]};
    tss_audit_chain_init(&c);
    CHECK_ERR(tss_audit_verify_files(&c, cutlist, 3, &bf, &line), TSS_E_CORRUPT);
    CHECK(bf == 2 && line == 1);
    free(s2);
    unlink(cutp);
    /* Swapping two segments' names in the directory is caught by --dir. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/x", dir);
    CHECK(rename(all[1], tmp) == 0 && rename(all[2], all[1]) == 0 && rename(tmp, all[2]) == 0);
    tss_audit_chain_init(&c);
    CHECK_ERR(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line), TSS_E_CORRUPT);
    CHECK(strstr(bad, names[1]) != NULL);
    for (size_t i = 0; i < 4; i++) free((void *)all[i]);
    harness_rmtree(dir);
}

/* A rotation that cannot create the next segment keeps recording in the
 * current one and retries 10 s later. */
static void failed_rotation_keeps_recording(void) {
    char dir[256], bad[700], blocker[512];
    harness_tmpdir(dir, sizeof dir);
    tss_audit_options o = opts(400, 0);
    tss_audit *a;
    CHECK_OK(tss_audit_open(&a, dir, &o, T0));
    append(a, 0, true);
    append(a, 1, true);
    CHECK_OK(tss_audit_flush(a, false, T0)); /* now over 400 bytes */
    CHECK(tss_audit_segment(a) == 1);
    /* The name segment 2 would get at T0+1000 is taken (O_EXCL fails). */
    snprintf(blocker, sizeof blocker, "%s/audit-00000002-20251202T182641Z.log", dir);
    write_file(blocker, "x", 1);
    append(a, 2, true);
    CHECK_OK(tss_audit_flush(a, false, T0 + 1000));
    CHECK(tss_audit_segment(a) == 1);
    append(a, 3, true);
    CHECK_OK(tss_audit_flush(a, false, T0 + 5000)); /* no retry before 10 s */
    CHECK(tss_audit_segment(a) == 1);
    unlink(blocker);
    append(a, 4, true);
    CHECK_OK(tss_audit_flush(a, false, T0 + 12000));
    CHECK(tss_audit_segment(a) == 2);
    tss_audit_close(a);
    tss_audit_chain c;
    size_t line;
    tss_audit_chain_init(&c);
    CHECK_OK(tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line));
    CHECK(c.segments == 2 && c.records == 2 + 5);
    harness_rmtree(dir);
}

static void bad_open_names_the_file(void) {
    char dir[256];
    harness_tmpdir(dir, sizeof dir);
    char p[400];
    snprintf(p, sizeof p, "%s/audit-00000001-20261203T000000Z.log", dir);
    write_file(p, "garbage that is not a record\n", 29);
    tss_audit_options o = opts(0, 0);
    tss_audit *a = NULL;
    CHECK_ERR(tss_audit_open(&a, dir, &o, T0), TSS_E_CORRUPT);
    CHECK(strstr(tss_error_detail(), "audit-00000001-20261203T000000Z.log") != NULL);
    /* An empty newest segment (crash while creating it) is removed, then a fresh one made. */
    unlink(p);
    write_file(p, "", 0);
    CHECK_OK(tss_audit_open(&a, dir, &o, T0));
    CHECK(tss_audit_segment(a) == 1);
    tss_audit_close(a);
    harness_rmtree(dir);
}

static void token_bucket(void) {
    tss_bucket b = {0};
    uint32_t retry;
    int ok = 0;
    for (int i = 0; i < 10; i++) ok += tss_bucket_take(&b, 2, 5, 1000, &retry);
    CHECK(ok == 5); /* the burst, then refusals */
    CHECK(!tss_bucket_take(&b, 2, 5, 1000, &retry) && retry == 500);
    CHECK(!tss_bucket_take(&b, 2, 5, 1400, &retry) && retry == 100);
    CHECK(tss_bucket_take(&b, 2, 5, 1500, &retry));
    /* Refill is capped at the burst. */
    ok = 0;
    for (int i = 0; i < 10; i++) ok += tss_bucket_take(&b, 2, 5, 100000, &retry);
    CHECK(ok == 5);
    /* rate 0: no limit. */
    tss_bucket z = {0};
    for (int i = 0; i < 1000; i++) CHECK(tss_bucket_take(&z, 0, 1, 0, &retry));
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 1;
    RUN(chain_verifies_and_resumes);
    RUN(every_byte_flip_is_detected);
    RUN(truncation_removal_and_reordering_are_detected);
    RUN(rotation_by_size_and_age_links_segments);
    RUN(failed_rotation_keeps_recording);
    RUN(bad_open_names_the_file);
    RUN(token_bucket);
    return harness_finish("audit");
}
