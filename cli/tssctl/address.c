/* tssctl address: Ethereum addresses of BIP-32 non-hardened children of a
 * threshold key, computed locally (mpc/bip32.h) from the key's public key and
 * chain code, taken from the coordinator's registry (--key-id) or from an
 * extended public key (--xpub, offline: what a watch-only wallet does). The
 * parties derive the same child key when they sign under the path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tssctl/tssctl.h"
#include "eth/address.h"
#include "mpc/bip32.h"
#include "util/hex.h"

/* Bounds what one call derives (stdin is untrusted input too). */
#define MAX_PATHS 100000

static tss_result child_views(const tss_bip32_node *root, const char *path_text, char *canon,
                              char addr_s[TSS_ETH_ADDRESS_STR_SIZE], char pk_hex[67]) {
    tss_bip32_path path;
    tss_bip32_node child;
    TSS_GUARD(tss_bip32_path_parse(&path, path_text));
    TSS_GUARD(tss_bip32_derive(&child, NULL, root, &path));
    tss_bip32_path_format(canon, TSS_BIP32_PATH_TEXT_MAX, &path);
    uint8_t pk[TSS_PT_BYTES], addr[TSS_ETH_ADDRESS_LEN];
    tss_pt_encode(pk, &child.key);
    tss_hex_encode(pk_hex, pk, sizeof pk);
    TSS_GUARD(tss_eth_address_from_secp(addr, &child.key.pk));
    return tss_eth_address_to_string(addr_s, addr);
}

static int emit(const tss_bip32_node *root, const char *path_text, bool json, bool *first) {
    char canon[TSS_BIP32_PATH_TEXT_MAX], addr[TSS_ETH_ADDRESS_STR_SIZE], pk[67];
    tss_result r = child_views(root, path_text, canon, addr, pk);
    if (!tss_is_ok(r)) {
        if (json && !*first) printf("]}\n"); /* keep stdout well-formed up to the error */
        return tssctl_fail(r);
    }
    if (json) {
        printf("%s{\"path\":\"%s\",\"address\":\"%s\",\"publicKey\":\"%s\"}", *first ? "" : ",",
               canon, addr, pk);
    } else {
        printf("%s %s %s\n", canon, addr, pk);
    }
    *first = false;
    return 0;
}

int tssctl_address(const char *config, int argc, char **argv) {
    const char *key_id = NULL, *xpub = NULL, *paths_file = NULL;
    const char *paths[64];
    size_t n_paths = 0;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) { json = true; continue; }
        if (!v) return tssctl_usage_error("address: '%s' needs a value or is unknown", a);
        i++;
        if (strcmp(a, "--key-id") == 0) key_id = v;
        else if (strcmp(a, "--xpub") == 0) xpub = v;
        else if (strcmp(a, "--paths") == 0) paths_file = v;
        else if (strcmp(a, "--path") == 0) {
            if (n_paths == sizeof paths / sizeof paths[0])
                return tssctl_usage_error("address: at most 64 --path (use --paths FILE)");
            paths[n_paths++] = v;
        } else return tssctl_usage_error("address: unknown option '%s'", a);
    }
    if ((key_id == NULL) == (xpub == NULL))
        return tssctl_usage_error("address needs exactly one of --key-id ID and --xpub XPUB");
    if ((n_paths == 0) == (paths_file == NULL))
        return tssctl_usage_error("address needs --path m/0/N (repeatable) or --paths FILE|-");
    if (key_id && !config) return tssctl_usage_error("address --key-id needs --config FILE");

    tss_bip32_node root;
    char root_x[TSS_BIP32_XPUB_TEXT];
    tss_result r;
    if (key_id) {
        tss_wire_key_info k;
        r = tssctl_key_lookup(config, key_id, &k);
        if (tss_is_ok(r)) r = tssctl_key_xpub(root_x, &k, false);
        if (tss_is_ok(r)) r = tss_bip32_xpub_decode(&root, NULL, root_x);
    } else {
        r = tss_bip32_xpub_decode(&root, NULL, xpub);
        if (tss_is_ok(r)) r = tss_bip32_xpub_encode(root_x, &root, false);
    }
    if (!tss_is_ok(r)) return tssctl_fail(r);

    if (json) {
        printf("{");
        if (key_id) {
            printf("\"keyId\":");
            tssctl_json_str(stdout, key_id);
            printf(",");
        }
        printf("\"xpub\":\"%s\",\"addresses\":[", root_x);
    }
    bool first = true;
    for (size_t i = 0; i < n_paths; i++) {
        int code = emit(&root, paths[i], json, &first);
        if (code) return code;
    }
    if (paths_file) {
        FILE *f = strcmp(paths_file, "-") == 0 ? stdin : fopen(paths_file, "re");
        if (!f) {
            return tssctl_fail(tss_fail(errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO, "%s: %s",
                                        paths_file, strerror(errno)));
        }
        char line[TSS_BIP32_PATH_TEXT_MAX + 2];
        size_t count = 0, lineno = 0;
        int code = 0;
        while (!code && fgets(line, sizeof line, f)) {
            lineno++;
            size_t len = strlen(line);
            if (len && line[len - 1] == '\n') line[--len] = '\0';
            else if (!feof(f)) {
                code = tssctl_fail(tss_fail(TSS_E_TOO_LARGE, "%s line %zu: longer than a path of "
                                            "depth 255", paths_file, lineno));
                break;
            }
            if (len && line[len - 1] == '\r') line[--len] = '\0';
            if (len == 0 || line[0] == '#') continue;
            if (++count > MAX_PATHS) {
                code = tssctl_fail(tss_fail(TSS_E_TOO_LARGE, "%s: more than %d paths", paths_file,
                                            MAX_PATHS));
                break;
            }
            code = emit(&root, line, json, &first);
        }
        if (f != stdin) fclose(f);
        if (code) return code;
    }
    if (json) printf("]}\n");
    fflush(stdout);
    return 0;
}
