/* tss-keystore: provision and inspect a party's sealed keystore.
 * Exit codes follow sysexits (see usage()). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/process.h"
#include "keystore/keystore.h"
#include "keystore/party_store.h"
#include "keystore/session_log.h"
#include "keystore/spent_log.h"
#include "mpc/keyshare.h"
#include "util/hex.h"
#include "util/secmem.h"

#define PROG "tss-keystore"

typedef struct {
    const char *command;
    const char *dir;
    long party_id;
    long words;
    bool import;
    bool show_mnemonic;
    bool json;
    const char *kdf;
    tss_passphrase_source pass;
    const char *new_pass_file;
    const char *log;
} options;

static void usage(FILE *out) {
    fprintf(out,
            "Usage:\n"
            "  " PROG " init --dir DIR --party-id ID [--words 12|24] [--import] [--show-mnemonic]\n"
            "               [--kdf interactive|moderate|sensitive] SOURCE\n"
            "  " PROG " inspect --dir DIR [--json]\n"
            "  " PROG " identity --dir DIR\n"
            "  " PROG " verify --dir DIR SOURCE\n"
            "  " PROG " passwd --dir DIR SOURCE [--new-passphrase-file F] [--kdf PROFILE]\n"
            "  " PROG " salvage-log --dir DIR --log FILE SOURCE\n"
            "\n"
            "SOURCE (the passphrase; never on the command line or in the environment):\n"
            "  --passphrase-file F   read from file F (mode 0600; one trailing newline stripped)\n"
            "  --passphrase-fd N     read from inherited file descriptor N until EOF\n"
            "  --credential NAME     read $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=)\n"
            "  (none)                prompt on the terminal with echo off, if stdin is a tty\n"
            "\n"
            "init creates DIR (mode 0700) and DIR/" TSS_MNEMONIC_FILE " (mode 0600) holding a new\n"
            "24-word BIP-39 mnemonic (or one read from stdin with --import), sealed with\n"
            "Argon2id + XChaCha20-Poly1305, and prints the party identity (ed25519:<base64>).\n"
            "The default KDF profile is moderate.\n"
            "\n"
            "salvage-log repairs a damaged spent-id log of this party (FILE is\n"
            "<state>/sids/<key>.sids, <state>/sids/" TSS_SESSION_LOG_NAME " or\n"
            "<state>/presig/<key>/spent.log): every id still readable is kept (refusing\n"
            "an id is harmless), the damaged file is kept as FILE.damaged-<time>, and a\n"
            "fresh log is written.\n"
            "It reports how many records were damaged: their ids are lost, so plan a new\n"
            "keygen. For spent.log prefer moving presig/<key>/ aside (docs/OPERATIONS.md\n"
            "\"Damaged state files\").\n"
            "\n"
            "Exit status: 0 ok, 64 usage, 65 corrupt or tampered file, 66 no keystore,\n"
            "73 keystore already exists, 74 I/O error, 77 wrong passphrase or unsafe permissions.\n");
}

static int fail(tss_result r) {
    fprintf(stderr, PROG ": %s\n", *tss_error_detail() ? tss_error_detail() : tss_err_message(r.err));
    return tss_err_exit_code(r.err);
}

static int usage_error(const char *msg) {
    fprintf(stderr, PROG ": %s (see " PROG " --help)\n", msg);
    return 64;
}

static bool parse_long(const char *s, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end) return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, options *o) {
    static const struct option longopts[] = {
        {"dir", required_argument, 0, 'd'},
        {"party-id", required_argument, 0, 'p'},
        {"words", required_argument, 0, 'w'},
        {"import", no_argument, 0, 'i'},
        {"show-mnemonic", no_argument, 0, 'm'},
        {"kdf", required_argument, 0, 'k'},
        {"json", no_argument, 0, 'j'},
        {"passphrase-file", required_argument, 0, 'f'},
        {"passphrase-fd", required_argument, 0, 'F'},
        {"credential", required_argument, 0, 'c'},
        {"new-passphrase-file", required_argument, 0, 'n'},
        {"log", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->words = 24;
    o->party_id = -1;
    int sources = 0, c;
    long fd;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->dir = optarg; break;
        case 'p':
            if (!parse_long(optarg, &o->party_id)) return usage_error("--party-id needs a number");
            break;
        case 'w':
            if (!parse_long(optarg, &o->words) || (o->words != 12 && o->words != 24))
                return usage_error("--words must be 12 or 24");
            break;
        case 'i': o->import = true; break;
        case 'm': o->show_mnemonic = true; break;
        case 'k': o->kdf = optarg; break;
        case 'j': o->json = true; break;
        case 'f': o->pass.kind = TSS_PASS_FILE, o->pass.path = optarg, sources++; break;
        case 'F':
            if (!parse_long(optarg, &fd) || fd < 0 || fd > 65535)
                return usage_error("--passphrase-fd needs a file descriptor number");
            o->pass.kind = TSS_PASS_FD, o->pass.fd = (int)fd, sources++;
            break;
        case 'c': o->pass.kind = TSS_PASS_CREDENTIAL, o->pass.name = optarg, sources++; break;
        case 'n': o->new_pass_file = optarg; break;
        case 'l': o->log = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%s'", argv[optind - 1]);
            return usage_error(msg);
        }
        }
    }
    if (optind != argc) return usage_error("unexpected argument after the options");
    if (sources > 1) return usage_error("give only one passphrase source");
    if (!o->dir) return usage_error("--dir DIR is required");
    if (sources == 0 && isatty(STDIN_FILENO)) o->pass.kind = TSS_PASS_PROMPT;
    return 0;
}

static tss_result read_import(tss_bip39_entropy *ent) {
    char *line = tss_secret_alloc(4096);
    TSS_ENSURE(line, TSS_E_NOMEM, "secret memory allocation failed");
    if (isatty(STDIN_FILENO)) fprintf(stderr, "Enter the mnemonic words, then Enter: ");
    size_t got = 0;
    int ch;
    tss_result r = TSS_OK_RESULT;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (got == 4095) {
            r = tss_fail(TSS_E_INVALID, "mnemonic input is too long");
            break;
        }
        line[got++] = (char)ch;
    }
    line[got] = '\0';
    if (tss_is_ok(r)) r = tss_bip39_from_sentence(line, ent);
    tss_secret_free(line);
    return r;
}

static void print_identity(const uint8_t pub[TSS_IDENTITY_PUBLIC_LEN]) {
    char text[TSS_IDENTITY_TEXT_LEN];
    tss_identity_format(pub, text);
    printf("%s\n", text);
}

static int cmd_init(const options *o) {
    if (o->party_id < TSS_PARTY_ID_MIN || o->party_id > TSS_PARTY_ID_MAX)
        return usage_error("init needs --party-id between 1 and 32");
    if (o->import && o->words != 24 && o->words != 12) return usage_error("--words");
    tss_kdf_params kdf;
    tss_result r = tss_kdf_profile_lookup(o->kdf ? o->kdf : "moderate", &kdf);
    if (!tss_is_ok(r)) return fail(r);
    /* Refuse early, before asking for a passphrase or mnemonic. */
    tss_keystore_info info;
    if (tss_keystore_inspect(o->dir, &info).err != TSS_E_NOT_FOUND) {
        fprintf(stderr, PROG ": %s/%s already exists; refusing to overwrite a keystore\n", o->dir,
                TSS_MNEMONIC_FILE);
        return 73;
    }
    tss_bip39_entropy *ent = tss_secret_alloc(sizeof *ent);
    char *sentence = tss_secret_alloc(TSS_BIP39_MAX_SENTENCE);
    tss_passphrase pass = {0};
    if (!ent || !sentence) {
        r = tss_fail(TSS_E_NOMEM, "secret memory allocation failed");
        goto out;
    }
    r = o->import ? read_import(ent) : tss_bip39_generate(ent, (size_t)o->words);
    if (!tss_is_ok(r)) goto out;
    r = tss_passphrase_read(&o->pass, "New keystore passphrase: ", true, &pass);
    if (!tss_is_ok(r)) goto out;
    r = tss_keystore_create(o->dir, (uint16_t)o->party_id, ent, &pass, kdf, &info);
    if (!tss_is_ok(r)) goto out;
    if (o->show_mnemonic) {
        r = tss_bip39_to_sentence(ent, sentence, TSS_BIP39_MAX_SENTENCE);
        if (!tss_is_ok(r)) goto out;
        fprintf(stderr, PROG ": the mnemonic below is the party's root secret; write it down "
                        "offline and keep it apart from the passphrase\n");
        printf("%s\n", sentence);
    }
    print_identity(info.identity);
out:
    tss_passphrase_free(&pass);
    tss_secret_free(sentence);
    tss_secret_free(ent);
    return tss_is_ok(r) ? 0 : fail(r);
}

static void format_mem(char *out, size_t cap, uint64_t bytes) {
    if (bytes % (1ull << 20) == 0)
        snprintf(out, cap, "%llu MiB", (unsigned long long)(bytes >> 20));
    else
        snprintf(out, cap, "%llu KiB", (unsigned long long)(bytes >> 10));
}

static int cmd_inspect(const options *o) {
    tss_keystore_info info;
    tss_result r = tss_keystore_inspect(o->dir, &info);
    if (!tss_is_ok(r)) return fail(r);
    char id[TSS_IDENTITY_TEXT_LEN], salt[2 * TSS_SEALED_SALT_LEN + 1],
        nonce[2 * TSS_SEALED_NONCE_LEN + 1], mem[32];
    tss_identity_format(info.identity, id);
    tss_hex_encode(salt, info.header.salt, sizeof info.header.salt);
    tss_hex_encode(nonce, info.header.nonce, sizeof info.header.nonce);
    format_mem(mem, sizeof mem, info.header.kdf.memlimit);
    if (o->json) {
        printf("{\"file\":\"%s/%s\",\"formatVersion\":%u,\"content\":\"bip39-mnemonic\","
               "\"kdf\":{\"id\":\"argon2id13\",\"opslimit\":%u,\"memlimit\":%llu,\"salt\":\"%s\"},"
               "\"aead\":{\"id\":\"xchacha20poly1305-ietf\",\"nonce\":\"%s\"},"
               "\"partyId\":%u,\"identity\":\"%s\",\"checksum\":\"ok\"}\n",
               o->dir, TSS_MNEMONIC_FILE, info.header.version, info.header.kdf.opslimit,
               (unsigned long long)info.header.kdf.memlimit, salt, nonce, info.party_id, id);
        return 0;
    }
    printf("file:       %s/%s\n", o->dir, TSS_MNEMONIC_FILE);
    printf("format:     tssd sealed file v%u (BIP-39 mnemonic)\n", info.header.version);
    printf("kdf:        argon2id13 opslimit=%u memlimit=%llu (%s)\n", info.header.kdf.opslimit,
           (unsigned long long)info.header.kdf.memlimit, mem);
    printf("salt:       %s\n", salt);
    printf("aead:       xchacha20poly1305-ietf\n");
    printf("nonce:      %s\n", nonce);
    printf("party_id:   %u\n", info.party_id);
    printf("identity:   %s\n", id);
    printf("checksum:   ok\n");
    return 0;
}

static int cmd_identity(const options *o) {
    tss_keystore_info info;
    tss_result r = tss_keystore_inspect(o->dir, &info);
    if (!tss_is_ok(r)) return fail(r);
    print_identity(info.identity);
    return 0;
}

static int cmd_verify(const options *o) {
    tss_passphrase pass = {0};
    tss_keystore_info info;
    tss_result r = tss_keystore_inspect(o->dir, &info); /* corrupt/missing before prompting */
    if (tss_is_ok(r)) r = tss_passphrase_read(&o->pass, "Keystore passphrase: ", false, &pass);
    if (tss_is_ok(r)) r = tss_keystore_unseal(o->dir, &pass, NULL, NULL, &info);
    tss_passphrase_free(&pass);
    if (!tss_is_ok(r)) return fail(r);
    char id[TSS_IDENTITY_TEXT_LEN];
    tss_identity_format(info.identity, id);
    printf("ok: keystore unsealed; party %u, identity %s\n", info.party_id, id);
    return 0;
}

static int cmd_passwd(const options *o) {
    tss_kdf_params kdf;
    tss_result r = TSS_OK_RESULT;
    if (o->kdf) {
        r = tss_kdf_profile_lookup(o->kdf, &kdf);
        if (!tss_is_ok(r)) return fail(r);
    }
    tss_keystore_info info;
    tss_passphrase old_pass = {0}, new_pass = {0};
    tss_passphrase_source new_src = {.kind = TSS_PASS_FILE, .path = o->new_pass_file};
    if (!o->new_pass_file) {
        if (!isatty(STDIN_FILENO)) return usage_error("passwd needs --new-passphrase-file F");
        new_src.kind = TSS_PASS_PROMPT;
    }
    r = tss_keystore_inspect(o->dir, &info);
    if (tss_is_ok(r)) r = tss_passphrase_read(&o->pass, "Current passphrase: ", false, &old_pass);
    if (tss_is_ok(r)) r = tss_passphrase_read(&new_src, "New passphrase: ", true, &new_pass);
    if (tss_is_ok(r)) r = tss_keystore_passwd(o->dir, &old_pass, &new_pass, o->kdf ? &kdf : NULL, NULL);
    tss_passphrase_free(&old_pass);
    tss_passphrase_free(&new_pass);
    if (!tss_is_ok(r)) return fail(r);
    printf("ok: passphrase changed; %s/%s re-sealed\n", o->dir, TSS_MNEMONIC_FILE);
    return 0;
}

static int cmd_salvage_log(const options *o) {
    if (!o->log) return usage_error("salvage-log needs --log FILE");
    char dir[PATH_MAX], name[NAME_MAX + 1], key_id[TSS_KEY_ID_MAX + 1];
    const char *slash = strrchr(o->log, '/');
    if (!slash || !slash[1] || (size_t)(slash - o->log) >= sizeof dir ||
        strlen(slash + 1) >= sizeof name)
        return usage_error("--log must be a path like STATE/sids/KEY.sids");
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - o->log), o->log);
    snprintf(name, sizeof name, "%s", slash + 1);
    tss_spent_kind kind;
    size_t nl = strlen(name), sl = strlen(TSS_STORE_SIDS_SUFFIX);
    if (nl > sl && strcmp(name + nl - sl, TSS_STORE_SIDS_SUFFIX) == 0 && nl - sl <= TSS_KEY_ID_MAX) {
        kind = TSS_SPENT_SIGN_SID;
        snprintf(key_id, sizeof key_id, "%.*s", (int)(nl - sl), name);
    } else if (strcmp(name, TSS_SESSION_LOG_NAME) == 0) {
        kind = TSS_SPENT_WIRE_SESSION; /* one per party (keystore/session_log.h) */
        snprintf(key_id, sizeof key_id, "%s", TSS_SESSION_LOG_KEY_ID);
    } else if (strcmp(name, TSS_STORE_SPENT_LOG) == 0) {
        kind = TSS_SPENT_PRESIG;
        const char *kd = strrchr(dir, '/');
        kd = kd ? kd + 1 : dir;
        if (!*kd || strlen(kd) > TSS_KEY_ID_MAX) return usage_error("cannot tell the key id from --log");
        snprintf(key_id, sizeof key_id, "%s", kd);
    } else {
        return usage_error("--log must name a <key>.sids, " TSS_SESSION_LOG_NAME " or spent.log file");
    }
    tss_result r = tss_store_key_id_check(key_id);
    if (!tss_is_ok(r)) return fail(r);
    tss_passphrase pass = {0};
    tss_keystore_info info;
    tss_party_keys *keys = tss_secret_alloc(sizeof *keys);
    if (!keys) return fail(tss_fail(TSS_E_NOMEM, "secret memory allocation failed"));
    r = tss_keystore_inspect(o->dir, &info);
    if (tss_is_ok(r)) r = tss_passphrase_read(&o->pass, "Keystore passphrase: ", false, &pass);
    if (tss_is_ok(r)) r = tss_keystore_unseal(o->dir, &pass, NULL, keys, &info);
    tss_passphrase_free(&pass);
    size_t authentic = 0, damaged = 0;
    char saved[PATH_MAX + 64];
    if (tss_is_ok(r))
        r = tss_spent_log_salvage(dir, name, kind, key_id, keys->storage_key, &authentic,
                                  &damaged, saved, sizeof saved);
    tss_secret_free(keys);
    if (!tss_is_ok(r)) return fail(r);
    if (!saved[0]) {
        printf("ok: %s verifies (%zu ids); nothing to salvage\n", o->log, authentic);
        return 0;
    }
    printf("salvaged %s: %zu authentic record(s) kept, %zu damaged record(s)%s; damaged file "
           "kept as %s\n",
           o->log, authentic, damaged, damaged ? " (their readable ids kept too)" : "", saved);
    if (damaged)
        printf("warning: the original ids of %zu damaged record(s) are lost: %s with them are no "
               "longer refused for key '%s'; plan a new keygen\n",
               damaged,
               kind == TSS_SPENT_SIGN_SID       ? "signing sessions"
               : kind == TSS_SPENT_WIRE_SESSION ? "wire session ids"
                                                : "presignatures",
               key_id);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 64 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tss-keystore " TSS_SOFTWARE "\n");
        return 0;
    }
    /* `tss-keystore init --help` works without the other options. */
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    tss_result r = tss_crypto_init();
    if (tss_is_ok(r)) r = tss_harden_process();
    if (!tss_is_ok(r)) return fail(r);
    const char *command = argv[1];
    options o;
    int rc = parse_args(argc - 1, argv + 1, &o);
    if (rc) return rc;
    if (!strcmp(command, "init")) return cmd_init(&o);
    if (!strcmp(command, "inspect")) return cmd_inspect(&o);
    if (!strcmp(command, "identity")) return cmd_identity(&o);
    if (!strcmp(command, "verify")) return cmd_verify(&o);
    if (!strcmp(command, "passwd")) return cmd_passwd(&o);
    if (!strcmp(command, "salvage-log")) return cmd_salvage_log(&o);
    char msg[160];
    snprintf(msg, sizeof msg, "unknown command '%.100s'", command);
    return usage_error(msg);
}
