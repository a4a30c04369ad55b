/* tssctl audit verify [--dir D | FILE...] [--anchor HASH] [--json]: check the
 * coordinator's audit log chain (daemon/audit.h) across segments, offline.
 * --anchor: a last hash the coordinator logged earlier must be in the chain
 * (detects a cut tail). Exit 0 when intact, 65 naming the first bad file and
 * line (or the missing anchor), 66/74 when unreadable. */
#include <stdio.h>
#include <string.h>

#include "cli/tssctl/tssctl.h"
#include "daemon/audit.h"
#include "util/hex.h"

int tssctl_audit(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "verify") != 0)
        return tssctl_usage_error("audit needs a subcommand: verify");
    const char *dir = NULL, *anchor = NULL;
    bool json = false;
    const char *files[4096];
    size_t nf = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--anchor") == 0 && i + 1 < argc) anchor = argv[++i];
        else if (strcmp(argv[i], "--json") == 0) json = true;
        else if (argv[i][0] == '-') return tssctl_usage_error("unknown option '%s'", argv[i]);
        else if (nf < sizeof files / sizeof files[0]) files[nf++] = argv[i];
        else return tssctl_usage_error("more than %zu files", sizeof files / sizeof files[0]);
    }
    if ((dir != NULL) == (nf > 0))
        return tssctl_usage_error("audit verify needs --dir DIR or segment FILEs (not both)");
    tss_audit_chain c;
    tss_audit_chain_init(&c);
    if (anchor) {
        if (strlen(anchor) != 2 * TSS_AUDIT_HASH_LEN ||
            !tss_is_ok(tss_hex_decode(c.anchor, sizeof c.anchor, anchor, "--anchor")))
            return tssctl_usage_error("--anchor needs a hash of 64 hex digits");
        c.have_anchor = true;
    }
    char bad[4200] = "";
    size_t line = 0, bad_file = 0;
    tss_result r;
    if (dir) {
        r = tss_audit_verify_dir(&c, dir, bad, sizeof bad, &line);
    } else {
        r = tss_audit_verify_files(&c, files, nf, &bad_file, &line);
        snprintf(bad, sizeof bad, "%s", files[bad_file]);
    }
    char head[2 * TSS_AUDIT_HASH_LEN + 1];
    tss_hex_encode(head, c.head, sizeof c.head);
    if (tss_is_ok(r) && c.have_anchor && !c.anchor_found) {
        r = tss_fail(TSS_E_CORRUPT, "the anchor %s is not in the chain: records were cut from "
                     "the end (or the anchor belongs to segments not given)", anchor);
        line = 0;
        snprintf(bad, sizeof bad, "%s", dir ? dir : files[nf - 1]);
    }
    if (!tss_is_ok(r)) {
        char detail[600];
        snprintf(detail, sizeof detail, "%s", tss_error_detail());
        if (json) {
            printf("{\"intact\":false,\"file\":");
            tssctl_json_str(stdout, bad);
            printf(",\"line\":%zu,\"error\":", line);
            tssctl_json_str(stdout, detail);
            printf(",\"segmentsVerified\":%llu,\"recordsVerified\":%llu}\n",
                   (unsigned long long)c.segments, (unsigned long long)c.records);
        }
        /* detail already starts with "line N: " when a record is bad */
        fprintf(stderr, PROG ": audit log NOT intact: %s: %s\n", bad, detail);
        return tss_err_exit_code(r.err);
    }
    if (json) {
        printf("{\"intact\":true,\"segments\":%llu,\"records\":%llu,\"firstSegment\":%llu,"
               "\"lastSegment\":%llu,\"head\":\"%s\",\"anchorFound\":%s}\n",
               (unsigned long long)c.segments, (unsigned long long)c.records,
               (unsigned long long)c.first_segment, (unsigned long long)c.segment, head,
               c.have_anchor ? "true" : "null");
    } else {
        printf("audit log intact: %llu segment(s) %llu..%llu, %llu record(s)\n",
               (unsigned long long)c.segments, (unsigned long long)c.first_segment,
               (unsigned long long)c.segment, (unsigned long long)c.records);
        if (c.first_segment > 1)
            printf("note: the chain starts at segment %llu; earlier segments (archived?) were "
                   "not checked\n", (unsigned long long)c.first_segment);
        if (c.have_anchor) printf("anchor %s found in the chain\n", anchor);
        printf("last hash: %s (compare with the coordinator's log to detect a cut tail)\n", head);
    }
    return 0;
}
