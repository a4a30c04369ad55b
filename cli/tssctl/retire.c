/* tssctl retire --key-id K [--yes] [--json]: end a key for good (issue 17).
 *
 * The coordinator marks the key retired (it never signs again) and asks
 * every party to erase its share; see docs/OPERATIONS.md "Retiring a key".
 * Irreversible, so it asks first: on a terminal the operator types the key
 * id; otherwise --yes is required. Exit 0 when every party confirmed the
 * erasure, 75 when the key is retired but some party has not (yet) erased
 * (offline, or allow_retire off): the text names them; 76 refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/tssctl/tssctl.h"
#include "config/operator.h"
#include "util/log.h"

static int confirm(const char *config, const char *key_id) {
    tss_wire_key_info k;
    tss_result r = tssctl_key_lookup(config, key_id, &k);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    fprintf(stderr, "About to retire key %s (%u-of-%u, parties ", k.key_id, k.threshold, k.count);
    for (size_t i = 0; i < k.count; i++) fprintf(stderr, "%s%u", i ? "," : "", k.parties[i]);
    fprintf(stderr, "%s).\n"
                    "Every party erases its share: the key can never sign again, and whatever its\n"
                    "addresses hold becomes unspendable. Move funds first.\n"
                    "Type the key id to confirm: ",
            k.retired ? "; already retired, erasure is asked again" : "");
    char line[TSS_WIRE_MAX_KEY_ID + 8];
    if (!fgets(line, sizeof line, stdin)) return tssctl_usage_error("not confirmed");
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, key_id) != 0) {
        fprintf(stderr, PROG ": '%s' is not the key id: nothing done\n", line);
        return 64;
    }
    return 0;
}

int tssctl_retire(const char *config, int argc, char **argv) {
    const char *key_id = NULL;
    bool yes = false, json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--yes") == 0) yes = true;
        else if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--key-id") == 0 && i + 1 < argc) key_id = argv[++i];
        else return tssctl_usage_error("retire: unknown option '%s'", argv[i]);
    }
    if (!key_id) return tssctl_usage_error("retire needs --key-id");
    if (strlen(key_id) < 1 || strlen(key_id) > TSS_WIRE_MAX_KEY_ID)
        return tssctl_usage_error("--key-id: 1..%u characters", TSS_WIRE_MAX_KEY_ID);
    if (!yes) {
        if (!isatty(STDIN_FILENO))
            return tssctl_usage_error("retire erases key %s on every party for good: confirm "
                                      "with --yes (stdin is not a terminal)", key_id);
        int c = confirm(config, key_id);
        if (c) return c;
    }
    tss_wire_op_request rq;
    memset(&rq, 0, sizeof rq);
    rq.command = TSS_WIRE_OP_RETIRE;
    snprintf(rq.key_id, sizeof rq.key_id, "%s", key_id);
    randombytes_buf(&rq.request_id, sizeof rq.request_id);
    tss_log_set_level(getenv("TSSCTL_DEBUG") ? LOG_DEBUG : LOG_CRIT);
    tss_operator_config cfg;
    memset(&cfg, 0, sizeof cfg);
    tss_result r = tss_config_operator_load_file(&cfg, config);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    tss_wire_op_response resp;
    memset(&resp, 0, sizeof resp);
    r = tssctl_exchange(&cfg, &rq, &resp);
    tss_config_operator_free(&cfg);
    if (!tss_is_ok(r)) return tssctl_fail(r);
    bool retired = resp.status == 0 || resp.status == TSS_WIRE_ERR_PENDING;
    const char *name = tss_wire_error_code_name(resp.status);
    if (json) {
        printf("{\"keyId\":");
        tssctl_json_str(stdout, key_id);
        printf(",\"retired\":%s,\"complete\":%s,\"detail\":", retired ? "true" : "false",
               resp.status == 0 ? "true" : "false");
        tssctl_json_str(stdout, resp.text);
        if (resp.status) printf(",\"code\":\"%s\"", name ? name : "?");
        printf("}\n");
    } else if (retired) {
        printf("%s\n", resp.text);
    }
    int code = 0;
    if (resp.status == TSS_WIRE_ERR_PENDING) {
        fprintf(stderr, PROG ": retire: not every party has erased its share yet (run it again "
                        "once they are online and allow it): %s\n", resp.text);
        code = 75;
    } else if (resp.status) {
        fprintf(stderr, PROG ": retire failed: %s\n", resp.text);
        code = 76;
    }
    tss_wire_op_response_free(&resp);
    fflush(stdout);
    return code;
}
