/* Clients, bearer tokens and grants. Tokens are stored as SHA-256 hashes in
 * the configuration: a leaked config does not leak a usable token, and a
 * token of 128+ random bits needs no slow hash. The lookup hashes the
 * presented token once and compares it with every stored hash in constant
 * time, without stopping at a match, so timing tells nothing about which
 * (or whether a) hash matched. */
#include <string.h>

#include <sodium.h>

#include "daemon/gateway/gw.h"
#include "util/hex.h"

tss_result gw_auth_init(gw *g) {
    g->n_clients = g->cfg.client_count;
    g->clients = calloc(g->n_clients ? g->n_clients : 1, sizeof *g->clients);
    TSS_ENSURE(g->clients != NULL, TSS_E_NOMEM, "no memory for clients");
    for (size_t i = 0; i < g->n_clients; i++) {
        gw_client *c = &g->clients[i];
        const tss_gateway_client_config *cc = &g->cfg.clients[i];
        c->cfg = cc;
        for (size_t t = 0; t < cc->token_sha256_count; t++)
            TSS_GUARD(tss_hex_decode(c->token_hash[c->n_tokens++], 32, cc->token_sha256[t],
                                     "token_sha256"));
        for (size_t k = 0; k < cc->key_count; k++) c->all_keys |= strcmp(cc->keys[k], "*") == 0;
        for (size_t m = 0; m < cc->method_count; m++)
            c->all_methods |= strcmp(cc->methods[m], "*") == 0;
    }
    return TSS_OK_RESULT;
}

const gw_client *gw_auth_token(const gw *g, const char *token, size_t len) {
    if (len == 0 || len > 1024) return NULL;
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)token, len);
    const gw_client *found = NULL;
    for (size_t i = 0; i < g->n_clients; i++)
        for (size_t t = 0; t < g->clients[i].n_tokens; t++) {
            int eq = sodium_memcmp(h, g->clients[i].token_hash[t], 32) == 0;
            /* Branch-free select; hashes are unique across clients (config check). */
            uintptr_t mask = (uintptr_t)0 - (uintptr_t)eq;
            found = (const gw_client *)(((uintptr_t)&g->clients[i] & mask) |
                                        ((uintptr_t)found & ~mask));
        }
    sodium_memzero(h, sizeof h);
    return found;
}

const gw_client *gw_auth_cert_name(const gw *g, const char *name) {
    for (size_t i = 0; i < g->n_clients; i++)
        if (g->clients[i].cfg->certificate && strcmp(g->clients[i].cfg->name, name) == 0)
            return &g->clients[i];
    return NULL;
}

bool gw_auth_method(const gw_client *c, const char *method) {
    if (c->all_methods) return true;
    for (size_t i = 0; i < c->cfg->method_count; i++)
        if (strcmp(c->cfg->methods[i], method) == 0) return true;
    return false;
}

static bool granted_path(const gw_client *c, const gw_key *k) {
    char p[TSS_BIP32_PATH_TEXT_MAX];
    tss_bip32_path_format(p, sizeof p, &k->path);
    for (size_t i = 0; i < c->cfg->path_count; i++)
        if (strcmp(c->cfg->paths[i], p) == 0) return true;
    return false;
}

bool gw_auth_key(const gw_client *c, const gw_key *k) {
    /* A derived account: the client must list its path, and be granted the key. */
    if (k->path.depth && !granted_path(c, k)) return false;
    if (c->all_keys) return true;
    for (size_t i = 0; i < c->cfg->key_count; i++) {
        const char *gr = c->cfg->keys[i];
        if (strcmp(gr, k->info.key_id) == 0) return true;
        if (strncmp(gr, "0x", 2) == 0 && strlen(gr) == 42 && strcasecmp(gr, k->addr_s) == 0)
            return true;
    }
    return false;
}
