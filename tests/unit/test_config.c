/* config/: schema walker, scalar syntax, party and coordinator schemas. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config/coordinator.h"
#include "config/party.h"
#include "config/value.h"
#include "tests/unit/harness.h"

#define KEY1 "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define KEY3 "ed25519:PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="

/* 14 lines; tests append from line 15 on. */
#define PARTY_BASE                                                                \
    "party_id: 2\n"                                                               \
    "keystore:\n"                                                                 \
    "  dir: /var/lib/tssd/keystore\n"                                             \
    "  passphrase:\n"                                                             \
    "    file: /etc/tssd/pass\n"                                                  \
    "coordinator:\n"                                                              \
    "  address: [coord.example:7400]\n"                                           \
    "tls:\n"                                                                      \
    "  cert: /c.pem\n"                                                            \
    "  key: /k.pem\n"                                                             \
    "  ca: /ca.pem\n"                                                             \
    "peers:\n"                                                                    \
    "  - id: 1\n"                                                                 \
    "    identity: " KEY1 "\n"

/* 9 lines. */
#define COORD_BASE                                                                \
    "tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"                             \
    "parties:\n"                                                                  \
    "  - id: 1\n"                                                                 \
    "    identity: urn:tssd:party:1\n"                                            \
    "  - id: 2\n"                                                                 \
    "    identity: urn:tssd:party:2\n"                                            \
    "listen:\n"                                                                   \
    "  - 127.0.0.1:7400\n"                                                        \
    "  - \"[::1]:7400\"\n"

static const char *examples_dir(void) {
    const char *d = getenv("TSS_EXAMPLES_DIR");
    return d && *d ? d : "packaging/examples";
}

static tss_result party(const char *yaml, tss_party_config *c) {
    return tss_config_party_load_buffer(c, "party.yaml", yaml, strlen(yaml));
}

static tss_result coord(const char *yaml, tss_coordinator_config *c) {
    return tss_config_coordinator_load_buffer(c, "coordinator.yaml", yaml, strlen(yaml));
}

static bool all_zero(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

/* The load fails with TSS_E_CONFIG, exactly this detail, and a zeroed struct. */
static void expect_detail(const char *want, const char *file, int line) {
    if (strcmp(tss_error_detail(), want) != 0) {
        fprintf(stderr, "  detail mismatch at %s:%d\n    got:  %s\n    want: %s\n", file, line,
                tss_error_detail(), want);
        harness_check(false, "detail matches", file, line);
    }
}

static void party_fails_(const char *yaml, const char *want, const char *file, int line) {
    tss_party_config c;
    tss_result r = party(yaml, &c);
    harness_check_result(r, TSS_E_CONFIG, "party load", file, line);
    expect_detail(want, file, line);
    harness_check(all_zero(&c, sizeof c), "struct zeroed", file, line);
    if (tss_is_ok(r)) tss_config_party_free(&c);
}

static void coord_fails_(const char *yaml, const char *want, const char *file, int line) {
    tss_coordinator_config c;
    tss_result r = coord(yaml, &c);
    harness_check_result(r, TSS_E_CONFIG, "coordinator load", file, line);
    expect_detail(want, file, line);
    harness_check(all_zero(&c, sizeof c), "struct zeroed", file, line);
    if (tss_is_ok(r)) tss_config_coordinator_free(&c);
}

#define PARTY_FAILS(yaml, want) party_fails_((yaml), (want), __FILE__, __LINE__)
#define COORD_FAILS(yaml, want) coord_fails_((yaml), (want), __FILE__, __LINE__)

/* ---- scalar syntax -------------------------------------------------------------- */

static void scalar_syntax_is_strict(void) {
    int64_t i;
    CHECK(tss_config_parse_int("0", &i) && i == 0);
    CHECK(tss_config_parse_int("-17", &i) && i == -17);
    CHECK(tss_config_parse_int("9223372036854775807", &i) && i == INT64_MAX);
    CHECK(tss_config_parse_int("-9223372036854775808", &i) && i == INT64_MIN);
    CHECK(!tss_config_parse_int("9223372036854775808", &i));
    CHECK(!tss_config_parse_int("99999999999999999999999", &i));
    CHECK(!tss_config_parse_int("", &i));
    CHECK(!tss_config_parse_int("-", &i));
    CHECK(!tss_config_parse_int("+1", &i));
    CHECK(!tss_config_parse_int("01", &i));
    CHECK(!tss_config_parse_int("0x10", &i));
    CHECK(!tss_config_parse_int("1 ", &i));
    CHECK(!tss_config_parse_int("1e3", &i));

    uint64_t v;
    CHECK(tss_config_parse_duration("250ms", &v) && v == 250);
    CHECK(tss_config_parse_duration("30s", &v) && v == 30000);
    CHECK(tss_config_parse_duration("5m", &v) && v == 300000);
    CHECK(tss_config_parse_duration("2h", &v) && v == 7200000);
    CHECK(tss_config_parse_duration("1d", &v) && v == 86400000);
    CHECK(tss_config_parse_duration("0s", &v) && v == 0);
    CHECK(!tss_config_parse_duration("30", &v)); /* the unit is mandatory */
    CHECK(!tss_config_parse_duration("1.5s", &v));
    CHECK(!tss_config_parse_duration("1m30s", &v));
    CHECK(!tss_config_parse_duration("5 s", &v));
    CHECK(!tss_config_parse_duration("5S", &v));
    CHECK(!tss_config_parse_duration("-1s", &v));
    CHECK(!tss_config_parse_duration("ms", &v));
    CHECK(!tss_config_parse_duration("999999999999999999d", &v)); /* overflow */

    CHECK(tss_config_parse_size("4096", &v) && v == 4096);
    CHECK(tss_config_parse_size("10B", &v) && v == 10);
    CHECK(tss_config_parse_size("64KiB", &v) && v == 65536);
    CHECK(tss_config_parse_size("1MiB", &v) && v == 1048576);
    CHECK(tss_config_parse_size("2GiB", &v) && v == 2147483648ULL);
    CHECK(!tss_config_parse_size("1MB", &v));
    CHECK(!tss_config_parse_size("1mib", &v));
    CHECK(!tss_config_parse_size("1 MiB", &v));
    CHECK(!tss_config_parse_size("17179869184GiB", &v));
    CHECK(!tss_config_parse_size("18446744073709551616", &v));

    char d[32];
    tss_config_format_duration(d, sizeof d, 250);
    CHECK(strcmp(d, "250ms") == 0);
    tss_config_format_duration(d, sizeof d, 600000);
    CHECK(strcmp(d, "10m") == 0);
    tss_config_format_duration(d, sizeof d, 90000);
    CHECK(strcmp(d, "90s") == 0);
    tss_config_format_duration(d, sizeof d, 0);
    CHECK(strcmp(d, "0ms") == 0);

    CHECK(tss_config_valid_hostname("coordinator.tss.example.net"));
    CHECK(tss_config_valid_hostname("localhost"));
    CHECK(tss_config_valid_hostname("a-b.c9"));
    CHECK(!tss_config_valid_hostname(""));
    CHECK(!tss_config_valid_hostname("-a.example"));
    CHECK(!tss_config_valid_hostname("a-.example"));
    CHECK(!tss_config_valid_hostname("a..example"));
    CHECK(!tss_config_valid_hostname("example."));
    CHECK(!tss_config_valid_hostname("under_score.example"));
    CHECK(!tss_config_valid_hostname("1.2.3"));
    char label[70];
    memset(label, 'a', 64);
    label[64] = '\0';
    CHECK(!tss_config_valid_hostname(label));
    label[63] = '\0';
    CHECK(tss_config_valid_hostname(label));

    tss_config_addr a;
    char err[128];
    CHECK(tss_config_parse_addr("127.0.0.1:7400", &a, err, sizeof err));
    CHECK(strcmp(a.host, "127.0.0.1") == 0 && a.port == 7400);
    CHECK(tss_config_parse_addr("[::1]:1", &a, err, sizeof err));
    CHECK(strcmp(a.host, "::1") == 0 && a.port == 1);
    CHECK(tss_config_parse_addr("host.example:65535", &a, err, sizeof err) && a.port == 65535);
    CHECK(!tss_config_parse_addr("host.example", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("host.example:0", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("host.example:65536", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("host.example:", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr(":7400", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("::1:7400", &a, err, sizeof err));
    CHECK(strstr(err, "[address]:port") != NULL);
    CHECK(!tss_config_parse_addr("[::1]7400", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("[]:7400", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("[nothex]:7400", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("256.1.1.1:7400", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("1.2.3:7400", &a, err, sizeof err));
    CHECK(!tss_config_parse_addr("bad_host:7400", &a, err, sizeof err));
}

/* ---- examples and defaults --------------------------------------------------------- */

static void examples_load(void) {
    char path[512];
    tss_party_config p;
    snprintf(path, sizeof path, "%s/party.yaml", examples_dir());
    CHECK_OK(tss_config_party_load_file(&p, path));
    CHECK(p.party_id == 2);
    CHECK(strcmp(p.keystore.dir, "/var/lib/tssd-party-2/keystore") == 0);
    CHECK(p.keystore.passphrase.kind == TSS_PASSPHRASE_CREDENTIAL);
    CHECK(strcmp(p.keystore.passphrase.credential, "tssd-party-2") == 0);
    CHECK(p.coordinator.address_count == 2);
    CHECK(p.coordinator.address && strcmp(p.coordinator.address[1].host, "192.0.2.10") == 0 &&
          p.coordinator.address[1].port == 7400);
    CHECK(p.coordinator.server_name && strcmp(p.coordinator.server_name,
                                              "coordinator.tss.example.net") == 0);
    CHECK(p.tls.crl && strcmp(p.tls.crl, "/etc/tssd/tls/ca.crl") == 0);
    CHECK(p.peer_count == 2 && p.peers[0].id == 1 && p.peers[1].id == 3);
    CHECK(p.peers[0].identity[0] == 0xd7 && p.peers[0].identity[31] == 0x1a);
    CHECK(p.limits.max_frame_size == 1048576 && p.limits.max_sessions == 16);
    CHECK(p.timeouts.heartbeat == 15000 && p.timeouts.round == 120000 &&
          p.timeouts.backoff_max == 60000);
    CHECK(p.log_level == LOG_INFO);
    CHECK(p.approvals.approver_count == 3 && strcmp(p.approvals.approvers[2].name, "carol") == 0);
    CHECK(!p.allow_retire); /* retirement erases shares only where enabled */
    tss_config_party_free(&p);
    CHECK(all_zero(&p, sizeof p));
    tss_config_party_free(&p); /* twice is harmless */

    tss_coordinator_config c;
    snprintf(path, sizeof path, "%s/coordinator.yaml", examples_dir());
    CHECK_OK(tss_config_coordinator_load_file(&c, path));
    CHECK(c.listen_count == 2 && strcmp(c.listen[1].host, "::") == 0);
    CHECK(c.party_count == 3 && c.parties[2].id == 3 &&
          strcmp(c.parties[2].identity, "urn:tssd:party:3") == 0);
    CHECK(c.operator_count == 2 && strcmp(c.operators[1].name, "ops-automation") == 0);
    CHECK(c.limits.max_connections == 256 && c.limits.max_pending_frames == 1024);
    CHECK(c.timeouts.idle == 60000 && c.timeouts.handshake == 10000);
    CHECK(strcmp(c.state_dir, "/var/lib/tssd") == 0);
    tss_config_coordinator_free(&c);
}

static void party_defaults_applied(void) {
    tss_party_config c;
    CHECK_OK(party(PARTY_BASE, &c));
    CHECK(c.party_id == 2);
    CHECK(c.keystore.passphrase.kind == TSS_PASSPHRASE_FILE);
    CHECK(strcmp(c.keystore.passphrase.file, "/etc/tssd/pass") == 0);
    CHECK(c.keystore.passphrase.credential == NULL && c.keystore.passphrase.fd == 0);
    CHECK(c.coordinator.address_count == 1 &&
          strcmp(c.coordinator.address[0].host, "coord.example") == 0);
    CHECK(c.coordinator.server_name == NULL);
    CHECK(c.tls.crl == NULL);
    CHECK(c.limits.max_frame_size == 1024 * 1024);
    CHECK(c.limits.max_sessions == 16);
    CHECK(c.timeouts.heartbeat == 15000);
    CHECK(c.timeouts.connect == 10000);
    CHECK(c.timeouts.round == 120000);
    CHECK(c.timeouts.backoff_initial == 1000);
    CHECK(c.timeouts.backoff_max == 60000);
    CHECK(c.state_dir && strcmp(c.state_dir, "/var/lib/tssd") == 0);
    CHECK(c.log_level == LOG_INFO);
    tss_config_party_free(&c);

    /* A partly given section keeps the defaults of the rest. */
    CHECK_OK(party(PARTY_BASE "limits:\n  max_sessions: 3\ntimeouts: {round: 30s}\n"
                              "log_level: debug\n", &c));
    CHECK(c.limits.max_sessions == 3 && c.limits.max_frame_size == 1024 * 1024);
    CHECK(c.timeouts.round == 30000 && c.timeouts.heartbeat == 15000);
    CHECK(c.log_level == LOG_DEBUG);
    tss_config_party_free(&c);

    /* fd and credential sources; quoted scalars are fine. */
    CHECK_OK(party("party_id: \"5\"\n"
                   "keystore: {dir: /k, passphrase: {fd: 3}}\n"
                   "coordinator: {address: ['[2001:db8::1]:7400']}\n"
                   "tls: {cert: /c, key: /k, ca: /a}\n"
                   "peers: [{id: 1, identity: '" KEY1 "'}, {id: 32, identity: " KEY3 "}]\n",
                   &c));
    CHECK(c.party_id == 5 && c.keystore.passphrase.kind == TSS_PASSPHRASE_FD &&
          c.keystore.passphrase.fd == 3);
    CHECK(strcmp(c.coordinator.address[0].host, "2001:db8::1") == 0);
    CHECK(c.peer_count == 2 && c.peers[1].id == 32);
    tss_config_party_free(&c);
}

static void coordinator_defaults_applied(void) {
    tss_coordinator_config c;
    CHECK_OK(coord(COORD_BASE, &c));
    CHECK(c.listen_count == 2 && c.listen[0].port == 7400);
    CHECK(c.party_count == 2 && c.operator_count == 0 && c.operators == NULL);
    CHECK(c.limits.max_connections == 256 && c.limits.max_frame_size == 1048576 &&
          c.limits.max_sessions == 64 && c.limits.max_pending_frames == 1024 &&
          c.limits.max_queued == 1024);
    CHECK(c.timeouts.heartbeat == 15000 && c.timeouts.handshake == 10000 &&
          c.timeouts.idle == 60000 && c.timeouts.round == 120000);
    CHECK(c.timeouts.liveness == 4000 && c.timeouts.preauth == 3000);
    CHECK(c.limits.max_unauthenticated == 128 && c.limits.max_unauthenticated_per_address == 64 &&
          c.limits.connection_rate == 100);
    CHECK(c.timeouts.queue == 20000);
    CHECK(strcmp(c.state_dir, "/var/lib/tssd") == 0 && c.log_level == LOG_INFO);
    CHECK(c.tls.crl == NULL);
    CHECK(c.audit.rotate_size == 64ull << 20 && c.audit.rotate_age == 86400000 &&
          c.audit.sync_interval == 1000);
    CHECK(c.rate_limit.operator_rate == 200 && c.rate_limit.operator_burst == 400);
    tss_config_coordinator_free(&c);
    /* Rotation and rate limiting can be switched off. */
    CHECK_OK(coord(COORD_BASE "audit: {rotate_size: 0, rotate_age: 0s}\n"
                              "rate_limit: {operator_rate: 0}\n", &c));
    CHECK(c.audit.rotate_size == 0 && c.audit.rotate_age == 0 && c.rate_limit.operator_rate == 0);
    tss_config_coordinator_free(&c);

    /* listen may be left out (socket activation). */
    CHECK_OK(coord("tls: {cert: /c, key: /k, ca: /a}\n"
                   "parties: [{id: 1, identity: 'urn:tssd:party:1'},"
                   " {id: 3, identity: 'urn:tssd:party:3'}]\n",
                   &c));
    CHECK(c.listen_count == 0 && c.listen == NULL);
    tss_config_coordinator_free(&c);
}

/* storage (issue 18): files by default; postgresql needs conninfo; the
 * password never in conninfo; at most one password source. */
static void coordinator_storage(void) {
    tss_coordinator_config c;
    CHECK_OK(coord(COORD_BASE, &c));
    CHECK(c.storage.backend == TSS_STORAGE_FILES && c.storage.conninfo == NULL &&
          c.storage.timeout == 2000 && c.storage.name == NULL &&
          c.storage.password.file == NULL && c.storage.password.credential == NULL);
    tss_config_coordinator_free(&c);
    CHECK_OK(coord(COORD_BASE "storage: {backend: postgresql, conninfo: 'host=/run/postgresql "
                              "dbname=tssd sslmode=verify-full', password: {credential: pg}, "
                              "name: coord-a, timeout: 5s}\n",
                   &c));
    CHECK(c.storage.backend == TSS_STORAGE_POSTGRESQL && c.storage.timeout == 5000 &&
          strcmp(c.storage.conninfo, "host=/run/postgresql dbname=tssd sslmode=verify-full") == 0 &&
          strcmp(c.storage.password.credential, "pg") == 0 &&
          strcmp(c.storage.name, "coord-a") == 0);
    tss_config_coordinator_free(&c);
    COORD_FAILS(COORD_BASE "storage: {backend: postgresql}\n", "coordinator.yaml:10:10: storage.conninfo: required with backend postgresql");
    COORD_FAILS(COORD_BASE "storage: {backend: postgresql, conninfo: 'dbname=t password=x'}\n",
                "coordinator.yaml:10:42: storage.conninfo: must not contain password=: use "
                "storage.password.file or storage.password.credential");
    COORD_FAILS(COORD_BASE "storage: {backend: postgresql, conninfo: 'dbname=t password = x'}\n",
                "coordinator.yaml:10:42: storage.conninfo: must not contain password=: use "
                "storage.password.file or storage.password.credential");
    COORD_FAILS(COORD_BASE "storage: {backend: postgresql, conninfo: 'postgresql://u:p@h/db'}\n",
                "coordinator.yaml:10:42: storage.conninfo: use libpq keyword=value pairs, not a "
                "URI (a URI may carry a password)");
    COORD_FAILS(COORD_BASE "storage: {backend: postgresql, conninfo: 'dbname=t', password: "
                           "{file: /p, credential: pg}}\n",
                "coordinator.yaml:10:64: storage.password: give at most one of file, credential");
    COORD_FAILS(COORD_BASE "storage: {backend: mysql}\n", "coordinator.yaml:10:20: storage.backend: unknown value 'mysql' (expected one of: "
                "files, postgresql)");
}

/* ---- error classes, with exact positions --------------------------------------------- */

static void unknown_keys(void) {
    PARTY_FAILS(PARTY_BASE "bogus: 1\n",
                "party.yaml:15:1: bogus: unknown key (expected one of: party_id, keystore, "
                "coordinator, coordinators, tls, peers, limits, timeouts, state_dir, log_level, approvals, "
                "policy_file, allow_retire)");
    PARTY_FAILS(PARTY_BASE "limits:\n  max_frame_size: 4096\n  max_frames: 3\n",
                "party.yaml:17:3: limits.max_frames: unknown key "
                "(expected one of: max_frame_size, max_sessions)");
    PARTY_FAILS(PARTY_BASE "  - id: 3\n    identity: " KEY3 "\n    port: 1\n",
                "party.yaml:17:5: peers[1].port: unknown key (expected one of: id, identity)");
    /* Keys are case-sensitive. */
    PARTY_FAILS(PARTY_BASE "Log_level: info\n",
                "party.yaml:15:1: Log_level: unknown key (expected one of: party_id, keystore, "
                "coordinator, coordinators, tls, peers, limits, timeouts, state_dir, log_level, approvals, "
                "policy_file, allow_retire)");
}

/* approvals: approver pins by name (policy/approval.h), defaults, and the
 * mistakes that would let one person count twice or pin a key nobody holds. */
static void party_approvals(void) {
    tss_party_config c;
    CHECK_OK(party(PARTY_BASE, &c));
    CHECK(c.approvals.approver_count == 0 && c.approvals.approvers == NULL);
    CHECK(c.approvals.clock_skew == 300000 && c.approvals.max_lifetime == 86400000);
    tss_config_party_free(&c);
    CHECK_OK(party(PARTY_BASE "approvals:\n  approvers:\n    - name: alice\n      public_key: " KEY1
                   "\n    - name: bob.ops-2\n      public_key: " KEY3
                   "\n  clock_skew: 30s\n  max_lifetime: 2h\n",
                   &c));
    CHECK(c.approvals.approver_count == 2);
    CHECK(strcmp(c.approvals.approvers[0].name, "alice") == 0 &&
          strcmp(c.approvals.approvers[1].name, "bob.ops-2") == 0);
    CHECK(c.approvals.approvers[0].public_key[0] == 0xd7);
    CHECK(c.approvals.clock_skew == 30000 && c.approvals.max_lifetime == 7200000);
    tss_config_party_free(&c);
    PARTY_FAILS(PARTY_BASE "approvals:\n  approvers:\n    - name: alice\n      public_key: " KEY1
                "\n    - name: alice\n      public_key: " KEY3 "\n",
                "party.yaml:19:7: approvals.approvers[1]: duplicate approver name 'alice' "
                "(also approvers[0])");
    PARTY_FAILS(PARTY_BASE "approvals:\n  approvers:\n    - name: alice\n      public_key: " KEY1
                "\n    - name: bob\n      public_key: " KEY1 "\n",
                "party.yaml:19:7: approvals.approvers[1]: duplicate public key (also approvers[0])");
    PARTY_FAILS(PARTY_BASE "approvals:\n  approvers:\n    - name: al ice\n      public_key: " KEY1
                "\n",
                "party.yaml:17:13: approvals.approvers[0].name: expected 1..64 characters of "
                "[A-Za-z0-9._-]");
    PARTY_FAILS(PARTY_BASE "approvals:\n  approvers:\n    - name: alice\n      public_key: "
                "ed25519:AAAA\n",
                "party.yaml:18:19: approvals.approvers[0].public_key: expected "
                "ed25519:<base64 of 32 bytes>");
    PARTY_FAILS(PARTY_BASE "approvals:\n  approvers:\n    - name: alice\n",
                "party.yaml:17:7: approvals.approvers[0].public_key: required key is missing");
}

static void wrong_types(void) {
    PARTY_FAILS(PARTY_BASE "limits: 5\n",
                "party.yaml:15:9: limits: expected a mapping, got a scalar");
    PARTY_FAILS(PARTY_BASE "state_dir: [/a]\n",
                "party.yaml:15:12: state_dir: expected an absolute path, got a list");
    PARTY_FAILS(PARTY_BASE "timeouts:\n  heartbeat: fast\n",
                "party.yaml:16:14: timeouts.heartbeat: 'fast' is not a duration "
                "(write e.g. 250ms, 30s, 5m, 1h, 1d)");
    PARTY_FAILS(PARTY_BASE "timeouts:\n  heartbeat: 30\n",
                "party.yaml:16:14: timeouts.heartbeat: '30' is not a duration "
                "(write e.g. 250ms, 30s, 5m, 1h, 1d)");
    PARTY_FAILS(PARTY_BASE "limits: {max_sessions: 1.5}\n",
                "party.yaml:15:24: limits.max_sessions: '1.5' is not an integer");
    PARTY_FAILS(PARTY_BASE "limits: {max_frame_size: 1MB}\n",
                "party.yaml:15:26: limits.max_frame_size: '1MB' is not a size "
                "(write e.g. 4096, 64KiB, 1MiB, 1GiB)");
    PARTY_FAILS(PARTY_BASE "log_level: verbose\n",
                "party.yaml:15:12: log_level: unknown value 'verbose' "
                "(expected one of: debug, info, notice, warning, error)");
    PARTY_FAILS(PARTY_BASE "state_dir: var/lib/tssd\n",
                "party.yaml:15:12: state_dir: path 'var/lib/tssd' is not absolute");
    PARTY_FAILS(PARTY_BASE "state_dir:\n",
                "party.yaml:15:11: state_dir: value is empty (expected an absolute path)");
    PARTY_FAILS(PARTY_BASE "peers2: 1\n",
                "party.yaml:15:1: peers2: unknown key (expected one of: party_id, keystore, "
                "coordinator, coordinators, tls, peers, limits, timeouts, state_dir, log_level, approvals, "
                "policy_file, allow_retire)");
    /* A list where one value is expected, and the other way round. */
    PARTY_FAILS("party_id: [1]\n", "party.yaml:1:11: party_id: expected an integer, got a list");
    PARTY_FAILS("peers: {id: 1}\n", "party.yaml:1:8: peers: expected a list of mappings, got a mapping");
    PARTY_FAILS("peers: [1]\n", "party.yaml:1:9: peers[0]: expected a mapping, got a scalar");
    /* Keys must be names. */
    PARTY_FAILS("? [a]\n: b\n", "party.yaml:1:3: a key must be a plain name, got a list");
}

static void out_of_range(void) {
    PARTY_FAILS(PARTY_BASE "limits:\n  max_frame_size: 0\n",
                "party.yaml:16:19: limits.max_frame_size: value 0 out of range 1024..16777216");
    PARTY_FAILS(PARTY_BASE "limits:\n  max_frame_size: 17MiB\n",
                "party.yaml:16:19: limits.max_frame_size: value 17MiB out of range "
                "1024..16777216");
    PARTY_FAILS(PARTY_BASE "timeouts:\n  heartbeat: 500ms\n",
                "party.yaml:16:14: timeouts.heartbeat: value 500ms out of range 1s..10m");
    PARTY_FAILS("party_id: 33\n", "party.yaml:1:11: party_id: value 33 out of range 1..32");
    PARTY_FAILS("party_id: 0\n", "party.yaml:1:11: party_id: value 0 out of range 1..32");
    PARTY_FAILS("party_id: -1\n", "party.yaml:1:11: party_id: value -1 out of range 1..32");
    PARTY_FAILS("party_id: 99999999999999999999\n",
                "party.yaml:1:11: party_id: '99999999999999999999' is not an integer");
    PARTY_FAILS(PARTY_BASE "  - id: 33\n",
                "party.yaml:15:9: peers[1].id: value 33 out of range 1..32");
    /* Limits on strings and lists. */
    PARTY_FAILS("keystore: {passphrase: {fd: 65536}}\n",
                "party.yaml:1:29: keystore.passphrase.fd: value 65536 out of range 0..65535");
    PARTY_FAILS("coordinator:\n  address: []\n",
                "party.yaml:2:12: coordinator.address: at least 1 entry is required");
    PARTY_FAILS("coordinator:\n  address: [a:1, a:2, a:3, a:4, a:5, a:6, a:7, a:8, a:9]\n",
                "party.yaml:2:53: coordinator.address[8]: too many entries (at most 8)");
}

static void bad_values(void) {
    PARTY_FAILS("coordinator: {address: [coord.example]}\n",
                "party.yaml:1:25: coordinator.address[0]: invalid address 'coord.example': "
                "expected host:port");
    PARTY_FAILS("coordinator: {address: ['::1:7400']}\n",
                "party.yaml:1:25: coordinator.address[0]: invalid address '::1:7400': an IPv6 "
                "address must be written as [address]:port");
    PARTY_FAILS("coordinator: {address: ['a:1'], server_name: 'bad name'}\n",
                "party.yaml:1:46: coordinator.server_name: 'bad name' is not a DNS name");
    PARTY_FAILS("keystore: {passphrase: {credential: ../x}}\n",
                "party.yaml:1:37: keystore.passphrase.credential: '../x' is not a credential "
                "name (no '/', not . or ..)");
    PARTY_FAILS(PARTY_BASE "  - id: 3\n    identity: ed25519:abc\n",
                "party.yaml:16:15: peers[1].identity: expected ed25519:<base64 of 32 bytes>");
    PARTY_FAILS(PARTY_BASE "  - id: 3\n    identity: PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=\n",
                "party.yaml:16:15: peers[1].identity: expected ed25519:<base64 of 32 bytes>");
    /* Well-formed but a small-order point: nobody can sign for it. */
    PARTY_FAILS(PARTY_BASE "  - id: 3\n"
                           "    identity: ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                "party.yaml:16:15: peers[1].identity: not a valid Ed25519 public key");
    PARTY_FAILS(PARTY_BASE "  - id: 3\n    identity: " KEY3 "x\n",
                "party.yaml:16:15: peers[1].identity: expected ed25519:<base64 of 32 bytes>");
}

static void duplicates_rejected(void) {
    PARTY_FAILS(PARTY_BASE "party_id: 3\n",
                "party.yaml:15:1: party_id: duplicate key (first given at line 1 column 1)");
    PARTY_FAILS(PARTY_BASE "tls:\n  cert: /x\n",
                "party.yaml:15:1: tls: duplicate key (first given at line 8 column 1)");
    PARTY_FAILS("keystore: {dir: /a, dir: /b}\n",
                "party.yaml:1:21: keystore.dir: duplicate key (first given at line 1 column 12)");
    /* Duplicates across list entries. */
    PARTY_FAILS(PARTY_BASE "  - id: 1\n    identity: " KEY3 "\n",
                "party.yaml:15:5: peers[1]: duplicate id 1 (also peers[0])");
    PARTY_FAILS(PARTY_BASE "  - id: 3\n    identity: " KEY1 "\n",
                "party.yaml:15:5: peers[1]: duplicate identity key (also peers[0])");
    COORD_FAILS(COORD_BASE "operators:\n  - {name: a, identity: 'urn:tssd:operator:a'}\n"
                           "  - {name: a, identity: 'urn:tssd:operator:a'}\n",
                "coordinator.yaml:12:5: operators[1]: duplicate name 'a' (also operators[0])");
}

static void missing_required(void) {
    PARTY_FAILS("party_id: 2\n", "party.yaml:1:1: keystore: required key is missing");
    PARTY_FAILS("keystore:\n  passphrase: {fd: 1}\n",
                "party.yaml:2:3: keystore.dir: required key is missing");
    /* Whole sections. */
    PARTY_FAILS("party_id: 2\n"
                "keystore: {dir: /k, passphrase: {file: /p}}\n"
                "coordinator: {address: ['c:1']}\n"
                "peers: [{id: 1, identity: " KEY1 "}]\n",
                "party.yaml:1:1: tls: required key is missing");
    PARTY_FAILS("party_id: 2\n"
                "keystore: {dir: /k, passphrase: {file: /p}}\n"
                "coordinator: {address: ['c:1']}\n"
                "tls: {cert: /c, ca: /a}\n"
                "peers: [{id: 1, identity: " KEY1 "}]\n",
                "party.yaml:4:6: tls.key: required key is missing");
    PARTY_FAILS(PARTY_BASE "  - identity: " KEY3 "\n",
                "party.yaml:15:5: peers[1].id: required key is missing");
    /* One-of: none, or two. */
    PARTY_FAILS("keystore:\n  dir: /k\n  passphrase: {}\n",
                "party.yaml:3:15: keystore.passphrase: give exactly one of file, credential, fd");
    PARTY_FAILS("keystore:\n  dir: /k\n  passphrase:\n    file: /p\n    fd: 4\n",
                "party.yaml:4:5: keystore.passphrase: give only one of file, credential, fd");
    COORD_FAILS("tls: {cert: /c, key: /k, ca: /a}\n",
                "coordinator.yaml:1:1: parties: required key is missing");
    COORD_FAILS("tls: {cert: /c, key: /k, ca: /a}\nparties: [{id: 1, identity: urn:tssd:party:1}]\n",
                "coordinator.yaml:2:10: parties: at least 2 entries are required");
}

static void cross_field_checks(void) {
    PARTY_FAILS(PARTY_BASE "  - id: 2\n    identity: " KEY3 "\n",
                "party.yaml:13:3: peers: peers[1] has this party's own id 2");
    PARTY_FAILS(PARTY_BASE "timeouts:\n  backoff_initial: 2m\n  backoff_max: 1m\n",
                "party.yaml:16:20: timeouts.backoff_initial: must not exceed backoff_max (1m)");
    /* Against a default: backoff_max defaults to 1m. */
    PARTY_FAILS(PARTY_BASE "timeouts: {backoff_initial: 90s}\n",
                "party.yaml:15:29: timeouts.backoff_initial: must not exceed backoff_max (1m)");
    COORD_FAILS(COORD_BASE "timeouts:\n  heartbeat: 30s\n  idle: 30s\n",
                "coordinator.yaml:12:9: timeouts.idle: must be longer than heartbeat (30s)");
    /* idle left at its default of 1m. */
    COORD_FAILS(COORD_BASE "timeouts:\n  heartbeat: 2m\n",
                "coordinator.yaml:11:3: timeouts.idle: must be longer than heartbeat (2m)");
    COORD_FAILS("parties:\n  - id: 1\n    identity: urn:tssd:party:1\n"
                "  - id: 2\n    identity: urn:tssd:party:3\n",
                "coordinator.yaml:5:15: parties[1].identity: 'urn:tssd:party:3' does not match "
                "id 2 (expected urn:tssd:party:2)");
    COORD_FAILS("parties:\n  - {id: 1, identity: urn:tssd:party:1}\n"
                "  - {id: 1, identity: urn:tssd:party:1}\n",
                "coordinator.yaml:3:5: parties[1]: duplicate id 1 (also parties[0])");
    COORD_FAILS(COORD_BASE "operators:\n  - name: alice\n    identity: urn:tssd:operator:bob\n",
                "coordinator.yaml:12:15: operators[0].identity: 'urn:tssd:operator:bob' does not "
                "match name (expected urn:tssd:operator:alice)");
    COORD_FAILS(COORD_BASE "operators:\n  - name: al ice\n    identity: x\n",
                "coordinator.yaml:11:11: operators[0].name: 'al ice' may only contain letters, "
                "digits, '-', '_' and '.'");
    COORD_FAILS(COORD_BASE "listen: []\n",
                "coordinator.yaml:10:1: listen: duplicate key (first given at line 7 column 1)");
}

static void plain_yaml_only(void) {
    PARTY_FAILS("party_id: &id 2\n",
                "party.yaml:1:11: party_id: anchors are not allowed (configuration must be "
                "plain YAML)");
    PARTY_FAILS("tls: &t {cert: /c}\n",
                "party.yaml:1:6: tls: anchors are not allowed (configuration must be plain YAML)");
    PARTY_FAILS("party_id: *id\n",
                "party.yaml:1:11: party_id: aliases are not allowed (configuration must be "
                "plain YAML)");
    PARTY_FAILS("party_id: !!int 2\n",
                "party.yaml:1:11: party_id: tags are not allowed (configuration must be plain "
                "YAML)");
    PARTY_FAILS("peers: !list []\n",
                "party.yaml:1:8: peers: tags are not allowed (configuration must be plain YAML)");
    PARTY_FAILS("%YAML 1.1\n---\nparty_id: 2\n",
                "party.yaml:1:1: directives are not allowed (configuration must be plain YAML)");
    PARTY_FAILS("%TAG !t! tag:example.com,2000:\n---\nparty_id: 2\n",
                "party.yaml:1:1: directives are not allowed (configuration must be plain YAML)");
    /* A merge key is just an unknown key here (and its alias would be refused). */
    PARTY_FAILS("limits: {max_sessions: 2}\ntimeouts:\n  <<: *base\n",
                "party.yaml:3:3: timeouts.<<: unknown key (expected one of: heartbeat, connect, "
                "round, backoff_initial, backoff_max)");
    PARTY_FAILS("state_dir: \"/a\\0b\"\n",
                "party.yaml:1:12: state_dir: control characters are not allowed in values");
    PARTY_FAILS("state_dir: \"/a\\tb\"\n",
                "party.yaml:1:12: state_dir: control characters are not allowed in values");
    PARTY_FAILS("state_dir: \"/a\\x9bb\"\n",
                "party.yaml:1:12: state_dir: control characters are not allowed in values");
}

static void documents_and_top_level(void) {
    PARTY_FAILS("", "party.yaml:1:1: configuration is empty");
    PARTY_FAILS("# nothing but a comment\n\n", "party.yaml:3:1: configuration is empty");
    PARTY_FAILS("---\n", "party.yaml:2:1: the top level must be a mapping of keys, got an empty "
                         "value");
    PARTY_FAILS("- a\n- b\n", "party.yaml:1:1: the top level must be a mapping of keys, got a list");
    PARTY_FAILS("hello\n", "party.yaml:1:1: the top level must be a mapping of keys, got a scalar");
    tss_coordinator_config c;
    const char *two = COORD_BASE "---\n" COORD_BASE;
    CHECK_ERR(coord(two, &c), TSS_E_CONFIG);
    expect_detail("coordinator.yaml:10:1: only one YAML document is allowed", __FILE__, __LINE__);
}

static void syntax_errors(void) {
    PARTY_FAILS("party_id: 2\npeers: [\n",
                "party.yaml:3:1: peers: YAML syntax error: did not find expected node "
                "content (while parsing a flow node at line 3 column 1)");
    PARTY_FAILS("party_id: 2\nkeystore:\n  dir: /a\n    x: 1\n",
                "party.yaml:4:6: keystore: YAML syntax error: mapping values are not allowed "
                "in this context");
    PARTY_FAILS("party_id: 2\npeers: [{id: 1]\n",
                "party.yaml:2:15: peers[0]: YAML syntax error: did not find expected ',' or '}' "
                "(while parsing a flow mapping at line 2 column 9)");
    PARTY_FAILS("party_id: 2\n\tlimits: {}\n",
                "party.yaml:2:1: party_id: YAML syntax error: found a tab character that "
                "violates indentation (while scanning a plain scalar at line 1 column 11)");
    PARTY_FAILS("party_id: 2\nstate_dir: \"/unterminated\n",
                "party.yaml:3:1: state_dir: YAML syntax error: found unexpected end of stream "
                "(while scanning a quoted scalar at line 2 column 12)");
    /* Invalid UTF-8 and raw control bytes are reader errors with a position. */
    PARTY_FAILS("party_id: 2\nstate_dir: /\xff\n",
                "party.yaml:2:13: invalid input: invalid leading UTF-8 octet");
    const char nul[] = "party_id: 2\nstate_dir: /a\0b\n";
    tss_party_config c;
    CHECK_ERR(tss_config_party_load_buffer(&c, "party.yaml", nul, sizeof nul - 1), TSS_E_CONFIG);
    expect_detail("party.yaml:2:14: invalid input: control characters are not allowed", __FILE__,
                  __LINE__);
    /* No byte-order guessing: UTF-16 is just invalid. */
    const char utf16[] = "\xff\xfep\0a\0";
    CHECK_ERR(tss_config_party_load_buffer(&c, "party.yaml", utf16, sizeof utf16 - 1),
              TSS_E_CONFIG);
}

/* A schema that nests into itself through a list, to reach the depth cap. */
typedef struct deep_s {
    struct deep_s *a;
    size_t a_count;
    int64_t x;
} deep_t;
static const tss_config_item deep_items[];
static const tss_config_item deep_items[] = {
    {.name = "a", .type = TSS_CONFIG_SECTION, .flags = TSS_CONFIG_LIST,
     .offset = offsetof(deep_t, a), .count_offset = offsetof(deep_t, a_count),
     .sub = deep_items, .size = sizeof(deep_t)},
    {.name = "x", .type = TSS_CONFIG_INT, .min = 0, .max = 9, .def = "4",
     .offset = offsetof(deep_t, x)},
    {0},
};
static const tss_config_item deep_root = {.type = TSS_CONFIG_SECTION, .sub = deep_items,
                                          .size = sizeof(deep_t)};

/* A section nested in itself: the defaults of an absent one would never end. */
static const tss_config_item loop_items[];
static const tss_config_item loop_items[] = {
    {.name = "a", .type = TSS_CONFIG_SECTION, .sub = loop_items, .size = sizeof(deep_t)},
    {0},
};
static const tss_config_item loop_root = {.type = TSS_CONFIG_SECTION, .sub = loop_items,
                                          .size = sizeof(deep_t)};

static void nesting_is_capped(void) {
    deep_t d;
    const char *ok = "a: [{a: [{x: 7}, {}]}]\n";
    CHECK_OK(tss_config_load_buffer(&deep_root, &d, "deep.yaml", ok, strlen(ok)));
    CHECK(d.x == 4 && d.a_count == 1 && d.a[0].a_count == 2);
    CHECK(d.a[0].a[0].x == 7 && d.a[0].a[1].x == 4 && d.a[0].a[1].a == NULL);
    tss_config_free(&deep_root, &d);
    /* Root mapping, then list+mapping pairs: the 9th level is refused. */
    const char *nine = "a: [{a: [{a: [{a: [{x: 1}]}]}]}]\n";
    CHECK_ERR(tss_config_load_buffer(&deep_root, &d, "deep.yaml", nine, strlen(nine)),
              TSS_E_CONFIG);
    expect_detail("deep.yaml:1:20: a[0].a[0].a[0].a[0]: nested deeper than 8 levels", __FILE__,
                  __LINE__);
    CHECK(all_zero(&d, sizeof d));
    CHECK_ERR(tss_config_load_buffer(&loop_root, &d, "loop.yaml", "{}", 2), TSS_E_INTERNAL);
    /* Hostile flow nesting stops at the first unexpected bracket. */
    size_t n = 200000;
    char *deep = malloc(n + 16);
    CHECK(deep != NULL);
    if (!deep) return;
    memcpy(deep, "party_id: ", 10);
    memset(deep + 10, '[', n);
    tss_party_config c;
    CHECK_ERR(tss_config_party_load_buffer(&c, "party.yaml", deep, n + 10), TSS_E_CONFIG);
    expect_detail("party.yaml:1:11: party_id: expected an integer, got a list", __FILE__,
                  __LINE__);
    free(deep);
}

static void size_cap_and_files(void) {
    char dir[256], path[512];
    harness_tmpdir(dir, sizeof dir);
    tss_party_config c;

    /* Oversized, as a buffer and as a file. */
    size_t big = TSS_CONFIG_MAX_FILE + 1;
    char *buf = malloc(big);
    CHECK(buf != NULL);
    if (!buf) return;
    memset(buf, '#', big);
    CHECK_ERR(tss_config_party_load_buffer(&c, "party.yaml", buf, big), TSS_E_CONFIG);
    expect_detail("party.yaml: larger than 1048576 bytes", __FILE__, __LINE__);
    snprintf(path, sizeof path, "%s/big.yaml", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(buf, 1, big, f) == big);
        fclose(f);
    }
    CHECK_ERR(tss_config_party_load_file(&c, path), TSS_E_CONFIG);
    CHECK(strstr(tss_error_detail(), "big.yaml: larger than 1048576 bytes") != NULL);
    free(buf);

    /* Missing file, a directory, an empty file. */
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    CHECK_ERR(tss_config_party_load_file(&c, path), TSS_E_CONFIG);
    CHECK(strstr(tss_error_detail(), "missing.yaml: cannot open: No such file or directory"));
    CHECK_ERR(tss_config_party_load_file(&c, dir), TSS_E_CONFIG);
    CHECK(strstr(tss_error_detail(), ": not a regular file") != NULL);
    snprintf(path, sizeof path, "%s/empty.yaml", dir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK_ERR(tss_config_party_load_file(&c, path), TSS_E_CONFIG);
    char want[600];
    snprintf(want, sizeof want, "%s:1:1: configuration is empty", path);
    expect_detail(want, __FILE__, __LINE__);

    /* Unreadable (only meaningful when not root). */
    snprintf(path, sizeof path, "%s/secret.yaml", dir);
    f = fopen(path, "wb");
    if (f) fclose(f);
    chmod(path, 0);
    if (geteuid() != 0) {
        CHECK_ERR(tss_config_party_load_file(&c, path), TSS_E_CONFIG);
        CHECK(strstr(tss_error_detail(), "cannot open: Permission denied") != NULL);
    }

    /* A FIFO must not hang the loader. */
    snprintf(path, sizeof path, "%s/fifo.yaml", dir);
    if (mkfifo(path, 0600) == 0) {
        CHECK_ERR(tss_config_party_load_file(&c, path), TSS_E_CONFIG);
        CHECK(strstr(tss_error_detail(), "not a regular file") != NULL);
    }

    /* The file name in messages is the path as given. */
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    f = fopen(path, "wb");
    if (f) {
        fputs("party_id: 40\n", f);
        fclose(f);
    }
    CHECK_ERR(tss_config_party_load_file(&c, path), TSS_E_CONFIG);
    snprintf(want, sizeof want, "%s:1:11: party_id: value 40 out of range 1..32", path);
    expect_detail(want, __FILE__, __LINE__);
    CHECK(tss_err_exit_code(TSS_E_CONFIG) == 78);
    harness_rmtree(dir);
}

/* Failures deep inside lists free everything they had built (ASan checks). */
static void failures_free_partial_results(void) {
    PARTY_FAILS(PARTY_BASE "  - id: 3\n    identity: " KEY3 "\nstate_dir: /s\nlog_level: x\n",
                "party.yaml:18:12: log_level: unknown value 'x' (expected one of: debug, info, "
                "notice, warning, error)");
    COORD_FAILS(COORD_BASE "operators:\n  - {name: a, identity: 'urn:tssd:operator:a'}\n"
                           "  - {name: b, identity: 'urn:tssd:operator:b', x: 1}\n",
                "coordinator.yaml:12:48: operators[1].x: unknown key (expected one of: name, "
                "identity)");
}

#define PARTY_NO_COORD                                                            \
    "party_id: 2\n"                                                               \
    "keystore: {dir: /k, passphrase: {file: /p}}\n"                               \
    "tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"                             \
    "peers: [{id: 1, identity: \"" KEY1 "\"}]\n"

/* Several coordinators (issue 18): `coordinators` is a list of entries, the
 * single `coordinator` form stays valid, exactly one of the two is given,
 * and no address appears in two entries (one coordinator dialled twice). */
static void party_coordinators(void) {
    tss_party_config c;
    size_t n = 0;
    CHECK_OK(party(PARTY_BASE, &c));
    const tss_party_coordinator_config *co = tss_config_party_coordinators(&c, &n);
    CHECK(n == 1 && co == &c.coordinator && co->address_count == 1 && co->address[0].port == 7400);
    tss_config_party_free(&c);
    CHECK_OK(party(PARTY_NO_COORD "coordinators:\n"
                   "  - {address: ['a.example:7400', 'a2.example:7400'], server_name: a.example}\n"
                   "  - {address: ['b.example:7401']}\n", &c));
    co = tss_config_party_coordinators(&c, &n);
    CHECK(n == 2 && co == c.coordinators && co[0].address_count == 2 &&
          strcmp(co[0].server_name, "a.example") == 0 && co[1].address[0].port == 7401 &&
          co[1].server_name == NULL);
    tss_config_party_free(&c);
    PARTY_FAILS(PARTY_NO_COORD,
                "party.yaml:1:1: coordinators: missing: give coordinator (one coordinator) or "
                "coordinators (a list of them)");
    PARTY_FAILS(PARTY_BASE "coordinators: [{address: ['b:1']}]\n",
                "party.yaml:15:15: coordinators: give either coordinator (one coordinator) or "
                "coordinators (several), not both");
    PARTY_FAILS(PARTY_NO_COORD "coordinators:\n  - {address: ['a:1', 'b:2']}\n"
                "  - {address: ['c:3', 'b:2']}\n",
                "party.yaml:7:5: coordinators[1]: address b:2 is also in coordinators[0]: list "
                "each coordinator once (its alternative addresses go in one entry's address "
                "list)");
    PARTY_FAILS(PARTY_NO_COORD "coordinators: []\n",
                "party.yaml:5:15: coordinators: at least 1 entry is required");
    PARTY_FAILS(PARTY_NO_COORD "coordinators: [{server_name: a.example}]\n",
                "party.yaml:5:16: coordinators[0].address: required key is missing");
    PARTY_FAILS(PARTY_NO_COORD "coordinator: {server_name: a.example}\n",
                "party.yaml:5:14: coordinator: address: required key is missing");
    PARTY_FAILS(PARTY_NO_COORD "coordinators:\n" "  - {address: ['a:1']}\n" "  - {address: ['a:2']}\n"
                "  - {address: ['a:3']}\n" "  - {address: ['a:4']}\n" "  - {address: ['a:5']}\n"
                "  - {address: ['a:6']}\n" "  - {address: ['a:7']}\n" "  - {address: ['a:8']}\n"
                "  - {address: ['a:9']}\n",
                "party.yaml:14:5: coordinators[8]: too many entries (at most 8)");
}

int main(void) {
    RUN(scalar_syntax_is_strict);
    RUN(examples_load);
    RUN(party_defaults_applied);
    RUN(party_coordinators);
    RUN(coordinator_defaults_applied);
    RUN(coordinator_storage);
    RUN(unknown_keys);
    RUN(party_approvals);
    RUN(wrong_types);
    RUN(out_of_range);
    RUN(bad_values);
    RUN(duplicates_rejected);
    RUN(missing_required);
    RUN(cross_field_checks);
    RUN(plain_yaml_only);
    RUN(documents_and_top_level);
    RUN(syntax_errors);
    RUN(nesting_is_capped);
    RUN(size_cap_and_files);
    RUN(failures_free_partial_results);
    return harness_finish("config");
}
