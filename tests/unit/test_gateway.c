/* tss-gateway's pieces outside the daemon: its configuration schema
 * (config/gateway.c) and the client role of tls/identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/gateway.h"
#include "tests/unit/harness.h"
#include "tls/identity.h"
#include "util/result.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BASE                                                                        \
    "listen: [127.0.0.1:8545]\n"                                                    \
    "tls: {cert: /c.pem, key: /k.pem, ca: /ca.pem}\n"                               \
    "coordinator:\n"                                                                \
    "  address: [127.0.0.1:7400]\n"                                                 \
    "  tls: {cert: /o.pem, key: /ok.pem, ca: /ca.pem}\n"                            \
    "chain_id: 1\n"

static tss_result load(const char *yaml, tss_gateway_config *c) {
    memset(c, 0, sizeof *c);
    return tss_config_gateway_load_buffer(c, "gateway.yaml", yaml, strlen(yaml));
}

static bool detail_has(const char *s) {
    bool ok = strstr(tss_error_detail(), s) != NULL;
    if (!ok) fprintf(stderr, "    detail: %s\n", tss_error_detail());
    return ok;
}

static void example_loads(void) {
    const char *d = getenv("TSS_EXAMPLES_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/gateway.yaml", d && *d ? d : "packaging/examples");
    tss_gateway_config c;
    memset(&c, 0, sizeof c);
    CHECK_OK(tss_config_gateway_load_file(&c, path));
    CHECK(c.client_count == 2 && strcmp(c.clients[0].name, "payments") == 0);
    CHECK(c.clients[0].certificate && c.clients[0].token_sha256_count == 0);
    CHECK(!c.clients[1].certificate && c.clients[1].token_sha256_count == 1);
    CHECK(c.limits.max_batch == 32 && c.limits.max_body == 1024 * 1024);
    CHECK(c.timeouts.sign == 120000 && c.chain_id == 1);
    tss_config_gateway_free(&c);
}

static void defaults_and_clients(void) {
    tss_gateway_config c;
    CHECK_OK(load(BASE "clients:\n  - {name: app-1, token_sha256: [" H64 "], keys: [eth], "
                       "methods: [\"*\"]}\n",
                  &c));
    CHECK(c.clients[0].certificate); /* default true */
    CHECK(c.limits.max_headers == 64 && c.limits.max_header_size == 16384);
    CHECK(c.timeouts.request == 10000 && c.timeouts.idle == 60000);
    CHECK(c.plain_listen_count == 0);
    tss_config_gateway_free(&c);
}

static void refusals(void) {
    tss_gateway_config c;
    /* The token itself instead of its hash. */
    CHECK_ERR(load(BASE "clients:\n  - {name: a, token_sha256: [my-secret-token], keys: [eth], "
                        "methods: [eth_accounts]}\n",
                   &c),
              TSS_E_CONFIG);
    /* Too short: the length check names the limit; a 64-char non-hex value names sha256sum. */
    CHECK_ERR(load(BASE "clients:\n  - {name: a, token_sha256: [" "zz" H64 "], keys: [eth], "
                        "methods: [eth_accounts]}\n",
                   &c),
              TSS_E_CONFIG);
    CHECK_ERR(load(BASE "clients:\n  - {name: a, token_sha256: [g123456789abcdef0123456789abcdef"
                        "0123456789abcdef0123456789abcdef], keys: [eth], methods: [x]}\n",
                   &c),
              TSS_E_CONFIG);
    CHECK(detail_has("sha256sum"));
    /* Plain HTTP on a routable address. */
    CHECK_ERR(load(BASE "plain_listen: [192.0.2.1:80]\nclients:\n  - {name: a, keys: [eth], "
                        "methods: [x]}\n",
                   &c),
              TSS_E_CONFIG);
    CHECK(detail_has("loopback"));
    CHECK_OK(load(BASE "plain_listen: [\"[::1]:80\", 127.0.0.2:81]\nclients:\n  - {name: a, "
                       "keys: [eth], methods: [x]}\n",
                  &c));
    tss_config_gateway_free(&c);
    /* A client that can never authenticate. */
    CHECK_ERR(load(BASE "clients:\n  - {name: a, certificate: false, keys: [eth], methods: [x]}\n",
                   &c),
              TSS_E_CONFIG);
    CHECK(detail_has("can never authenticate"));
    /* Duplicate names and shared tokens. */
    CHECK_ERR(load(BASE "clients:\n  - {name: a, keys: [eth], methods: [x]}\n"
                        "  - {name: a, keys: [eth], methods: [x]}\n",
                   &c),
              TSS_E_CONFIG);
    CHECK(detail_has("duplicate name"));
    CHECK_ERR(load(BASE "clients:\n  - {name: a, token_sha256: [" H64 "], keys: [e], methods: [x]}\n"
                        "  - {name: b, token_sha256: [" H64 "], keys: [e], methods: [x]}\n",
                   &c),
              TSS_E_CONFIG);
    CHECK(detail_has("shared"));
    /* Names that cannot be a urn:tssd:client:<name>; unknown keys; no grants. */
    CHECK_ERR(load(BASE "clients:\n  - {name: Big, keys: [eth], methods: [x]}\n", &c),
              TSS_E_CONFIG);
    CHECK_ERR(load(BASE "clients:\n  - {name: a, keys: [eth], methods: [x], token: abc}\n", &c),
              TSS_E_CONFIG);
    CHECK(detail_has("unknown key"));
    CHECK_ERR(load(BASE "clients:\n  - {name: a, keys: [], methods: [x]}\n", &c), TSS_E_CONFIG);
    CHECK_ERR(load(BASE "clients:\n  - {name: a, keys: [eth], methods: [x]}\nlimits: {max_batch: 0}\n",
                   &c),
              TSS_E_CONFIG);
    CHECK_ERR(load(BASE "clients: []\n", &c), TSS_E_CONFIG);
}

static void client_identity(void) {
    tss_tls_identity id;
    const char *u = "urn:tssd:client:payments-1";
    CHECK_OK(tss_tls_identity_parse(u, strlen(u), &id));
    CHECK(id.role == TSS_TLS_ROLE_CLIENT && strcmp(id.operator_name, "payments-1") == 0);
    char out[TSS_TLS_URN_MAX];
    tss_tls_identity_format(&id, out, sizeof out);
    CHECK(strcmp(out, u) == 0);
    CHECK(strcmp(tss_tls_role_name(id.role), "client") == 0);
    tss_tls_identity op;
    const char *o = "urn:tssd:operator:payments-1";
    CHECK_OK(tss_tls_identity_parse(o, strlen(o), &op));
    CHECK(!tss_tls_identity_equal(&id, &op)); /* same name, other role */
    CHECK_ERR(tss_tls_identity_parse("urn:tssd:client:", 16, &id), TSS_E_INVALID);
    CHECK_ERR(tss_tls_identity_parse("urn:tssd:client:A", 17, &id), TSS_E_INVALID);
    /* The policy accepts clients only when told to. */
    tss_tls_policy p;
    tss_tls_policy_init(&p);
    CHECK_OK(tss_tls_policy_allow_operator(&p, "payments-1"));
    CHECK_OK(tss_tls_identity_parse(u, strlen(u), &id));
    CHECK_ERR(tss_tls_policy_check(&p, &id), TSS_E_PERMISSION);
    p.clients = true;
    CHECK_OK(tss_tls_policy_check(&p, &id));
}

int main(void) {
    RUN(example_loads);
    RUN(defaults_and_clients);
    RUN(refusals);
    RUN(client_identity);
    return harness_finish("gateway");
}
