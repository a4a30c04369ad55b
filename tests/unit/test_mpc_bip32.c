/* mpc/bip32 and util/base58: BIP-32 test vectors 1-3 (public derivation and
 * xpub serialisation), the invalid extended keys of test vector 5, path
 * parsing (hardened refused), the tweak identity child = X + t*G. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpc/bip32.h"
#include "tests/unit/harness.h"
#include "util/base58.h"
#include "util/secmem.h"

/* BIP-32 test vectors 1-3: the xpub of each chain (bip-0032.mediawiki). */
static const char *V1[] = {
    /* m */ "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
    /* m/0H */ "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
    /* m/0H/1 */ "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
    /* m/0H/1/2H */ "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
    /* m/0H/1/2H/2 */ "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
    /* m/0H/1/2H/2/1000000000 */ "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
};
static const char *V2[] = {
    /* m */ "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
    /* m/0 */ "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH",
    /* m/0/2147483647H */ "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
    /* m/0/2147483647H/1 */ "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon",
    /* m/0/2147483647H/1/2147483646H */ "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL",
    /* m/0/2147483647H/1/2147483646H/2 */ "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt",
};
static const char *V3[] = {
    /* m */ "xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13",
    /* m/0H */ "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y",
};

static void roundtrip(const char *x) {
    tss_bip32_node n;
    bool testnet = true;
    char out[TSS_BIP32_XPUB_TEXT];
    CHECK_OK(tss_bip32_xpub_decode(&n, &testnet, x));
    CHECK(!testnet);
    CHECK_OK(tss_bip32_xpub_encode(out, &n, false));
    CHECK(strcmp(out, x) == 0);
}

/* parent --index--> child, compared as serialised xpubs (depth, fingerprint,
 * child number, chain code, key). */
static void step(const char *parent, uint32_t index, const char *want) {
    tss_bip32_node p, c;
    char out[TSS_BIP32_XPUB_TEXT];
    CHECK_OK(tss_bip32_xpub_decode(&p, NULL, parent));
    CHECK_OK(tss_bip32_ckd_pub(&c, NULL, &p, index));
    CHECK_OK(tss_bip32_xpub_encode(out, &c, false));
    CHECK(strcmp(out, want) == 0);
}

static void vectors_1_to_3(void) {
    for (size_t i = 0; i < 6; i++) roundtrip(V1[i]);
    for (size_t i = 0; i < 6; i++) roundtrip(V2[i]);
    for (size_t i = 0; i < 2; i++) roundtrip(V3[i]);
    /* Every non-hardened step of the three vectors. */
    step(V1[1], 1, V1[2]);
    step(V1[3], 2, V1[4]);
    step(V1[4], 1000000000, V1[5]);
    step(V2[0], 0, V2[1]);
    step(V2[2], 1, V2[3]);
    step(V2[4], 2, V2[5]);
    /* Two non-hardened steps at once through tss_bip32_derive. */
    tss_bip32_node p, c;
    tss_bip32_path path;
    char out[TSS_BIP32_XPUB_TEXT];
    CHECK_OK(tss_bip32_xpub_decode(&p, NULL, V1[3]));
    CHECK_OK(tss_bip32_path_parse(&path, "m/2/1000000000"));
    CHECK_OK(tss_bip32_derive(&c, NULL, &p, &path));
    CHECK_OK(tss_bip32_xpub_encode(out, &c, false));
    CHECK(strcmp(out, V1[5]) == 0);
    /* The hardened steps of the vectors are refused (they need a private key). */
    CHECK_OK(tss_bip32_xpub_decode(&p, NULL, V3[0]));
    CHECK_ERR(tss_bip32_ckd_pub(&c, NULL, &p, TSS_BIP32_HARDENED), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "private key") != NULL);
    CHECK_OK(tss_bip32_xpub_decode(&p, NULL, V2[1]));
    CHECK_ERR(tss_bip32_ckd_pub(&c, NULL, &p, 0xFFFFFFFFu), TSS_E_INVALID);
}

static void testnet_version(void) {
    tss_bip32_node n, m;
    bool testnet = false;
    char t[TSS_BIP32_XPUB_TEXT], x[TSS_BIP32_XPUB_TEXT];
    CHECK_OK(tss_bip32_xpub_decode(&n, NULL, V1[2]));
    CHECK_OK(tss_bip32_xpub_encode(t, &n, true));
    CHECK(strncmp(t, "tpub", 4) == 0);
    CHECK_OK(tss_bip32_xpub_decode(&m, &testnet, t));
    CHECK(testnet);
    CHECK_OK(tss_bip32_xpub_encode(x, &m, false));
    CHECK(strcmp(x, V1[2]) == 0);
}

/* BIP-32 test vector 5 (invalid extended keys), the public ones, plus ours. */
static void invalid_xpubs(void) {
    static const char *bad[] = {
        /* pubkey version / prvkey mismatch */
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm",
        /* invalid pubkey prefix 04 */
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn",
        /* invalid pubkey prefix 01 */
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4",
        /* zero depth with non-zero parent fingerprint */
        "xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ",
        /* zero depth with non-zero index */
        "xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8",
        /* unknown extended key version */
        "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4",
        /* invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007 */
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY",
        /* the private key of vector 1 m/0H */
        "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7",
        "", "0", "xpub", "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet9",
        "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8 ",
        "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet",
        "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMce0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tss_bip32_node n;
        CHECK_ERR(tss_bip32_xpub_decode(&n, NULL, bad[i]), TSS_E_INVALID);
    }
    tss_bip32_node n;
    CHECK_ERR(tss_bip32_xpub_decode(&n, NULL, bad[7]), TSS_E_INVALID);
    CHECK(strstr(tss_error_detail(), "private") != NULL);
}

static void path_parsing(void) {
    tss_bip32_path p, q;
    char text[TSS_BIP32_PATH_TEXT_MAX];
    CHECK_OK(tss_bip32_path_parse(&p, "m"));
    CHECK(p.depth == 0);
    CHECK_OK(tss_bip32_path_parse(&p, "m/0/7/42"));
    CHECK(p.depth == 3 && p.index[0] == 0 && p.index[1] == 7 && p.index[2] == 42);
    tss_bip32_path_format(text, sizeof text, &p);
    CHECK(strcmp(text, "m/0/7/42") == 0);
    CHECK_OK(tss_bip32_path_parse(&p, "m/2147483647"));
    CHECK(p.index[0] == 0x7FFFFFFFu);
    /* Hardened forms and indices >= 2^31: refused, saying why. */
    static const char *hard[] = {"m/0'", "m/0h", "m/0H", "m/1/2'/3", "m/2147483648",
                                 "m/4294967295", "m/4294967296"};
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) {
        CHECK_ERR(tss_bip32_path_parse(&p, hard[i]), TSS_E_INVALID);
        if (i < 6) CHECK(strstr(tss_error_detail(), "private key") != NULL);
    }
    static const char *bad[] = {"", "M/0", "0/1", "m/", "m//1", "m/1/", "m/01", "m/-1", "m/+1",
                                "m/1a", "m/ 1", "m/1 ", "n/1", "m1", "m/99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ERR(tss_bip32_path_parse(&p, bad[i]), TSS_E_INVALID);
    /* Depth 255 is the limit. */
    char *deep = malloc(1 + 256 * 2 + 1);
    size_t o = 0;
    deep[o++] = 'm';
    for (int i = 0; i < 255; i++) deep[o++] = '/', deep[o++] = '1';
    deep[o] = '\0';
    CHECK_OK(tss_bip32_path_parse(&p, deep));
    CHECK(p.depth == 255);
    deep[o++] = '/', deep[o++] = '1', deep[o] = '\0';
    CHECK_ERR(tss_bip32_path_parse(&p, deep), TSS_E_INVALID);
    free(deep);
    /* Wire form round trip; a hardened index on the wire is refused. */
    CHECK_OK(tss_bip32_path_parse(&p, "m/0/7/2147483647"));
    tss_writer w;
    tss_writer_init(&w, TSS_BIP32_PATH_WIRE_MAX);
    tss_bip32_path_write(&w, &p);
    CHECK_OK(tss_writer_status(&w, "path"));
    CHECK(w.len == 1 + 3 * 4);
    tss_reader rd;
    tss_reader_init(&rd, w.data, w.len);
    CHECK_OK(tss_bip32_path_read(&rd, &q));
    CHECK_OK(tss_reader_finish(&rd, "path"));
    CHECK(tss_bip32_path_eq(&p, &q));
    w.data[w.len - 4] |= 0x80;
    tss_reader_init(&rd, w.data, w.len);
    CHECK_ERR(tss_bip32_path_read(&rd, &q), TSS_E_INVALID);
    tss_reader_init(&rd, w.data, w.len - 1);
    CHECK(!tss_is_ok(tss_bip32_path_read(&rd, &q)));
    tss_writer_free(&w);
}

/* child = X + t*G for random roots and paths, and (x + t)*G = child for a
 * known x: the tweak is what a signer adds to its share. */
static void tweak_identity(void) {
    for (int iter = 0; iter < 50; iter++) {
        tss_scalar x, t, xt;
        tss_point X, want;
        CHECK_OK(tss_sc_random_nonzero(&x));
        CHECK_OK(tss_pt_mul_base(&X, &x));
        uint8_t cc[32];
        randombytes_buf(cc, sizeof cc);
        tss_bip32_node root, child;
        tss_bip32_root(&root, &X, cc);
        tss_bip32_path p;
        p.depth = (uint8_t)(1 + randombytes_uniform(8));
        for (unsigned i = 0; i < p.depth; i++) p.index[i] = randombytes_uniform(TSS_BIP32_HARDENED);
        CHECK_OK(tss_bip32_derive(&child, &t, &root, &p));
        CHECK(child.depth == p.depth);
        CHECK(child.child_number == p.index[p.depth - 1]);
        tss_sc_add(&xt, &x, &t);
        CHECK_OK(tss_pt_mul_base(&want, &xt));
        CHECK(tss_pt_eq(&want, &child.key));
        /* Derivation composes: (root -> a) -> b equals root -> a/b. */
        tss_bip32_path a = p, b;
        a.depth = p.depth / 2;
        b.depth = (uint8_t)(p.depth - a.depth);
        memcpy(b.index, p.index + a.depth, b.depth * sizeof b.index[0]);
        tss_bip32_node mid, end;
        tss_scalar ta, tb, tab;
        CHECK_OK(tss_bip32_derive(&mid, &ta, &root, &a));
        CHECK_OK(tss_bip32_derive(&end, &tb, &mid, &b));
        tss_sc_add(&tab, &ta, &tb);
        CHECK(tss_sc_eq(&tab, &t));
        CHECK(tss_pt_eq(&end.key, &child.key));
        CHECK(memcmp(end.chain_code, child.chain_code, 32) == 0);
    }
    /* The empty path is the root itself, with tweak 0. */
    tss_bip32_node root, child;
    tss_scalar t;
    tss_bip32_path empty = {.depth = 0};
    CHECK_OK(tss_bip32_xpub_decode(&root, NULL, V1[0]));
    CHECK_OK(tss_bip32_derive(&child, &t, &root, &empty));
    CHECK(tss_sc_is_zero(&t) && tss_pt_eq(&child.key, &root.key));
}

static void base58(void) {
    /* Leading zero bytes become '1's and back. */
    uint8_t in[5] = {0, 0, 1, 2, 3}, out[5];
    char text[TSS_B58_MAX_TEXT];
    CHECK_OK(tss_b58check_encode(text, sizeof text, in, sizeof in));
    CHECK(strncmp(text, "11", 2) == 0 && text[2] != '1');
    CHECK_OK(tss_b58check_decode(out, sizeof out, text, strlen(text), "t"));
    CHECK(memcmp(in, out, sizeof in) == 0);
    CHECK_ERR(tss_b58check_decode(out, 4, text, strlen(text), "t"), TSS_E_INVALID);
    text[3] = text[3] == 'z' ? 'y' : 'z';
    CHECK_ERR(tss_b58check_decode(out, sizeof out, text, strlen(text), "t"), TSS_E_INVALID);
    CHECK_ERR(tss_b58check_decode(out, sizeof out, "0OIl", 4, "t"), TSS_E_INVALID);
    /* Bitcoin's genesis address: version 0 + HASH160, a known Base58Check string. */
    uint8_t addr[21];
    CHECK_OK(tss_b58check_decode(addr, sizeof addr, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", 34, "a"));
    CHECK(addr[0] == 0 && addr[1] == 0x62 && addr[20] == 0x18);
    char small[10];
    CHECK_ERR(tss_b58check_encode(small, sizeof small, addr, sizeof addr), TSS_E_TOO_LARGE);
}

int main(void) {
    if (!tss_is_ok(tss_crypto_init())) return 2;
    RUN(vectors_1_to_3);
    RUN(testnet_version);
    RUN(invalid_xpubs);
    RUN(path_parsing);
    RUN(tweak_identity);
    RUN(base58);
    return harness_finish("mpc_bip32");
}
