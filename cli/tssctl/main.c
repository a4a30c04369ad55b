/* tssctl — operator client for tssd.
 *   tssctl --config FILE status [--json]
 *   tssctl pki init-ca | issue | crl | show ...
 *   tssctl audit verify (--dir DIR | FILE...)
 * Exit codes follow sysexits (see --help). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tssctl/tssctl.h"
#include "daemon/process.h"
#include "util/secmem.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage:\n"
            "  " PROG " --config FILE status [--all] [--json]\n"
            "  " PROG " --config FILE keygen --key-id ID --threshold T [--parties 1,2,3] [--json]\n"
            "  " PROG " --config FILE sign --key-id ID (--digest HEX32 | --message TEXT\n"
            "                  [--hash sha256|keccak256|eip191]) [--path m/0/N] [--signers 1,3]\n"
            "                  [--no-presign] [--approval FILE]... [--json]\n"
            "  " PROG " --config FILE sign-tx --key-id ID --tx FILE.json|- [--path m/0/N]\n"
            "                  [--signers 1,3] [--no-presign] [--approval FILE]... [--json]\n"
            "  " PROG " --config FILE presign --key-id ID --count K [--path m/0/N] [--signers 1,3]\n"
            "                  [--json]\n"
            "  " PROG " --config FILE sign-typed-data --key-id ID FILE.json [--path m/0/N] [--signers 1,3]\n"
            "                  [--no-presign] [--approval FILE]... [--json]\n"
            "  " PROG " --config FILE sign-authorization --key-id ID --chain-id N --address ADDR\n"
            "                  --nonce N [--path m/0/N] [--signers 1,3] [--no-presign] [--json]\n"
            "  " PROG " typed-data-hash FILE.json [--json]\n"
            "  " PROG " tx-hash FILE.json [--signature RSV65] [--json]\n"
            "  " PROG " --config FILE keys [--key-id ID] [--xpub [--testnet]] [--json]\n"
            "  " PROG " --config FILE retire --key-id ID [--yes] [--json]\n"
            "  " PROG " [--config FILE] address (--key-id ID | --xpub XPUB)\n"
            "                  (--path m/0/N ... | --paths FILE|-) [--json]\n"
            "  " PROG " pki init-ca --out DIR [--days N]\n"
            "  " PROG " pki issue --ca DIR --identity URN --out DIR [--dns NAME]... [--ip ADDR]...\n"
            "                  [--days N]\n"
            "  " PROG " pki crl --ca DIR --out FILE [--revoke CERT.pem]... [--days N]\n"
            "  " PROG " pki show --cert FILE [--json]\n"
            "  " PROG " config-reference [--check]\n"
            "  " PROG " audit verify (--dir DIR | SEGMENT...) [--anchor HASH] [--json]\n"
            "  " PROG " approver-keygen --name NAME --out DIR [PASSPHRASE] [--kdf PROFILE]\n"
            "  " PROG " approve --key DIR/NAME.approver [PASSPHRASE] --key-id ID [--path m/0/N]\n"
            "                  (--tx FILE.json | --typed-data FILE.json | --message TEXT |\n"
            "                  --digest HEX32 | --request-hash HEX32) [--expires-in 1h] [--out FILE]\n"
            "  " PROG " approval show FILE\n"
            "  " PROG " policy check POLICY.yaml --key-id ID [--path m/0/N] (--tx FILE.json |\n"
            "                  --typed-data FILE.json | --message TEXT | --digest HEX32)\n"
            "                  [--at UNIX_SECONDS] [--json]\n"
            "\n"
            "status asks the coordinator, over mutual TLS with an operator certificate\n"
            "(urn:tssd:operator:<name>), for its view of every configured party: connected\n"
            "or not, Ed25519 identity, protocol version, certificate notAfter, last heartbeat;\n"
            "then (a keys request on the same connection) each key's presignature stock;\n"
            "with --all, every coordinator in the address list in turn (several coordinators:\n"
            "each one's view; exit 74 if any does not answer). Other commands fail over\n"
            "along the list (docs/OPERATIONS.md, \"Several coordinators\").\n"
            "FILE is the operator configuration (YAML):\n"
            "    coordinator:\n"
            "      address: [coordinator.example.net:7400]\n"
            "    tls: {cert: /abs/operator.crt, key: /abs/operator.key, ca: /abs/ca.crt}\n"
            "    timeouts: {connect: 10s, request: 30s}   # optional\n"
            "\n"
            "keygen runs a distributed key generation among the parties (default: every\n"
            "configured party) and prints the public key and Ethereum address; no machine\n"
            "ever holds the private key. sign has t parties (chosen by the coordinator, or\n"
            "--signers) sign a 32-byte digest (--digest) or a message hashed with sha256\n"
            "(default), keccak256 or eip191 (personal_sign); the coordinator verifies the\n"
            "signature before answering, and tssctl verifies it again. sign uses a\n"
            "presignature (one online round) when the coordinator holds one for a signer\n"
            "set that is online, unless --no-presign. sign-tx signs an Ethereum transaction\n"
            "(JSON file: type 0 legacy EIP-155, 1 EIP-2930, 2 EIP-1559, 3 EIP-4844 without\n"
            "blobs, 4 EIP-7702; see docs/OPERATIONS.md)\n"
            "and prints the signed raw transaction, its hash and the sender, refusing\n"
            "unless the sender recovered from it is the key's address. sign-typed-data\n"
            "signs EIP-712 typed data (the eth_signTypedData_v4 JSON object) and prints\n"
            "r, s, v and the 65-byte signature, refusing unless the signature recovers the\n"
            "key's address. sign-authorization signs an EIP-7702 authorization (delegate\n"
            "the key's account to the code at ADDR; --chain-id 0 = every chain) and prints\n"
            "the tuple for a type 4 transaction's authorizationList. Offline, without a\n"
            "coordinator: typed-data-hash prints the digest of a typed-data file, tx-hash\n"
            "the signing hash and unsigned encoding of a transaction file and, with a\n"
            "signature made elsewhere the signed raw transaction. presign makes K\n"
            "presignatures ahead of time. --path signs (or presigns) with the key's\n"
            "non-hardened BIP-32 child m/a/b/...: the signature verifies under the child key,\n"
            "and a presignature serves only the path it was made for. keys lists the\n"
            "coordinator's key registry with each key's epoch (0 from keygen, +1 per\n"
            "refresh/reshare), whether it is retired, its\n"
            "presignature stock and BIP-32 extended public key; --xpub prints\n"
            "only the xpub (--testnet: tpub), for a watch-only wallet. address derives the\n"
            "Ethereum addresses of non-hardened BIP-32 children (m/0/N; hardened steps need\n"
            "a private key no party holds) locally from the registry's key or an xpub;\n"
            "--paths reads one path per line. Output: path, address, child public key.\n"
            "retire ends a key for good: the coordinator records it retired (it never signs\n"
            "again) and every party whose config has allow_retire: true erases its share and\n"
            "presignatures; it asks you to type the key id unless --yes. Exit 75 when the\n"
            "key is retired but some party has not erased yet (offline: it is asked again\n"
            "when it reconnects; or allow_retire off): the output names them.\n"
            "\n"
            "pki creates a private ECDSA P-256 CA (DIR/ca.pem, DIR/ca.key 0600) and leaf\n"
            "certificates for tssd identities: urn:tssd:coordinator, urn:tssd:party:<id>,\n"
            "urn:tssd:operator:<name> (OUT/cert.pem, OUT/key.pem 0600, OUT/ca.pem). Existing\n"
            "keys are never overwritten. Defaults: CA 3650 days, leaf 365 days, CRL 30 days.\n"
            "\n"
            "audit verify checks the coordinator's hash-chained audit log (state_dir/audit/,\n"
            "or archived segment files in order) and names the first broken record (file\n"
            "and line); exit 65 when it is not intact. --anchor HASH (a last hash the\n"
            "coordinator logged at a rotation or exit) must be in the chain: a cut tail fails.\n"
            "\n"
            "approver-keygen makes an approver's Ed25519 key, sealed under a passphrase\n"
            "(Argon2id + XChaCha20-Poly1305) in DIR/NAME.approver, and prints the pin to put\n"
            "in every party's approvals.approvers. approve signs an approval of exactly one\n"
            "request: key id, path and the content as sign sends it (--tx, --typed-data,\n"
            "--message for sign --hash eip191, --digest for any other sign), or its request\n"
            "hash as `policy check` prints it; it expires after --expires-in (at most the\n"
            "parties' approvals.max_lifetime) and carries a fresh random nonce: each party\n"
            "counts it once and never again (docs/OPERATIONS.md, \"Approvals\"). Pass the\n"
            "approval files to sign, sign-tx or sign-typed-data with --approval FILE\n"
            "(repeatable). approval show decodes one. PASSPHRASE: --passphrase-file F |\n"
            "--passphrase-fd N | --passphrase-credential NAME; else prompted on a terminal.\n"
            "policy check evaluates a request against a party's signing policy file offline\n"
            "(first matching rule; windows taken as empty, approvals as absent) and prints\n"
            "allow or refuse with the rule and reasons; exit 77 when refused.\n"
            "sign-tx, sign-typed-data and sign --hash eip191 send the request content to\n"
            "the parties, which compute the digest themselves and apply their policy.\n"
            "\n"
            "Exit status: 0 ok, 64 usage, 65 invalid input, 66 file not found, 73 exists,\n"
            "74 I/O or connection error, 75 presign stopped part-way (some made: see the\n"
            "output) or retire not yet erased everywhere, 76 refused by the coordinator, 77 permissions, 78 configuration error.\n");
}

int tssctl_fail(tss_result r) {
    fprintf(stderr, PROG ": %s\n", *tss_error_detail() ? tss_error_detail() : tss_err_message(r.err));
    return tss_err_exit_code(r.err);
}

int tssctl_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    va_end(ap);
    return 64;
}

void tssctl_json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f) fprintf(out, "\\u%04x", ch);
        else fputc(ch, out);
    }
    fputc('"', out);
}

int main(int argc, char **argv) {
    const char *config = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf(PROG " " TSS_SOFTWARE "\n");
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config = argv[i] + 9;
        } else if (argv[i][0] == '-') {
            return tssctl_usage_error("unknown option '%s'", argv[i]);
        } else {
            break;
        }
    }
    if (i >= argc) return tssctl_usage_error("no command");
    /* `tssctl sign --help` works without a configuration. */
    for (int j = i + 1; j < argc; j++)
        if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    tss_result r = tss_crypto_init();
    if (!tss_is_ok(r)) return tssctl_fail(r);
    const char *cmd = argv[i];
    if (strcmp(cmd, "status") == 0) {
        if (!config) return tssctl_usage_error("status needs --config FILE");
        return tssctl_status(config, argc - i - 1, argv + i + 1);
    }
    if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "sign") == 0 || strcmp(cmd, "sign-tx") == 0 ||
        strcmp(cmd, "sign-typed-data") == 0 || strcmp(cmd, "sign-authorization") == 0 ||
        strcmp(cmd, "presign") == 0 || strcmp(cmd, "keys") == 0) {
        if (!config) return tssctl_usage_error("%s needs --config FILE", cmd);
        return tssctl_ops(config, cmd, argc - i - 1, argv + i + 1);
    }
    if (strcmp(cmd, "retire") == 0) {
        if (!config) return tssctl_usage_error("retire needs --config FILE");
        return tssctl_retire(config, argc - i - 1, argv + i + 1);
    }
    if (strcmp(cmd, "tx-hash") == 0) return tssctl_tx_hash(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "typed-data-hash") == 0) return tssctl_typed_data_hash(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "address") == 0) return tssctl_address(config, argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "pki") == 0) return tssctl_pki(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "config-reference") == 0)
        return tssctl_config_reference(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "audit") == 0) return tssctl_audit(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "approver-keygen") == 0) return tssctl_approver_keygen(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "approve") == 0) return tssctl_approve(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "approval") == 0) return tssctl_approval(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "policy") == 0) return tssctl_policy(argc - i - 1, argv + i + 1);
    return tssctl_usage_error("unknown command '%s'", cmd);
}
