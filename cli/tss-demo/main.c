/* tss-demo: the seed-compatible end-to-end demo, with real daemons.
 *
 *   tss-demo [--session ID] [--n N] [--k K] [--message TEXT] [--serve]
 *
 * Environment (as the seed's runner): MPC_SESSION_ID, MPC_TOTAL_PARTIES,
 * MPC_THRESHOLD, MPC_TSS_COORDINATOR_URL (default 127.0.0.1:17400, loopback
 * only), MPC_TSS_MESSAGE, MPC_TSS_STATE_DIR (default ./state).
 *
 * It creates a CA and certificates, provisions sealed keystores (with a
 * generated DEMO-ONLY passphrase in a 0600 file), writes configs, starts the
 * coordinator and N parties as separate processes over mutual TLS, runs
 * keygen, signs sha256(message) if one is given, verifies the signature
 * itself, writes state/<session>/aggregated.json, stops the daemons, and
 * exits 0 only if everything verified. --serve keeps the cluster up until
 * SIGINT/SIGTERM and prints the tssctl command line to use against it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon/process.h"
#include "eth/sig.h"
#include "util/hex.h"
#include "util/secmem.h"

/* Every path is the state directory (checked below to be under 1024 bytes)
 * plus a short suffix, in buffers of PATH_MAX or more: GCC cannot see that
 * bound through the buffers and warns about truncation it cannot prove. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define PROG "tss-demo"
#define MAX_N 32
/* Not a well-known port (9090 is Prometheus'), and not tssd's own 7400, so a
 * demo can run on a host that also runs the real service. */
#define DEFAULT_PORT "17400"

static char bindir[PATH_MAX], dir[PATH_MAX + 128];
static pid_t pids[MAX_N + 1];
static int npids;
static volatile sig_atomic_t got_signal;
static struct timespec t_start;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t_start.tv_sec) + (double)(t.tv_nsec - t_start.tv_nsec) / 1e9;
}

static void step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void step(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("[%7.3fs] ", now_s());
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

/* Run argv (argv[0] is a binary next to us), capture stdout into out (may be
 * NULL), stderr to dir/logs/<log>. Returns the exit status or -1. */
static int run(char *out, size_t cap, const char *log, char *const argv[]) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    char exe[PATH_MAX + 64], logp[PATH_MAX + 64];
    snprintf(exe, sizeof exe, "%s/%s", bindir, argv[0]);
    snprintf(logp, sizeof logp, "%s/logs/%s", dir, log);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(fds[1], 1);
        if (lf >= 0) dup2(lf, 2);
        close(fds[0]);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        execv(exe, argv);
        _exit(127);
    }
    close(fds[1]);
    size_t have = 0;
    char sink[4096];
    for (;;) {
        ssize_t n = out && have + 1 < cap ? read(fds[0], out + have, cap - have - 1)
                                          : read(fds[0], sink, sizeof sink);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (out && have + 1 < cap) have += (size_t)n;
    }
    if (out) out[have] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static pid_t spawn(const char *bin, const char *config, const char *log) {
    char exe[PATH_MAX + 64], logp[PATH_MAX + 64];
    snprintf(exe, sizeof exe, "%s/%s", bindir, bin);
    snprintf(logp, sizeof logp, "%s/logs/%s", dir, log);
    pid_t pid = fork();
    if (pid == 0) {
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (lf >= 0) dup2(lf, 2);
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) dup2(nul, 0), dup2(nul, 1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl(exe, bin, "--config", config, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) pids[npids++] = pid;
    return pid;
}

static void stop_all(void) {
    for (int i = npids - 1; i >= 0; i--) kill(pids[i], SIGTERM);
    for (int i = 0; i < npids; i++) {
        int st;
        for (int t = 0; t < 50; t++) {
            if (waitpid(pids[i], &st, WNOHANG) == pids[i]) goto reaped;
            usleep(100000);
        }
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &st, 0);
    reaped:;
    }
    npids = 0;
}

/* Waits (at most 5 s) until the coordinator logs that it listens, or exits
 * (a port in use is reported at once, with the coordinator's own message;
 * a TCP probe could not tell its socket from another program's). */
static bool coordinator_listening(pid_t pid, int port) {
    char path[PATH_MAX + 64], line[1024], want[64];
    snprintf(path, sizeof path, "%s/logs/coordinator.log", dir);
    snprintf(want, sizeof want, "listening on 127.0.0.1:%d", port);
    for (int t = 0; t < 50; t++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            for (int i = 0; i < npids; i++)
                if (pids[i] == pid) pids[i] = pids[--npids];
            return false;
        }
        FILE *f = fopen(path, "r");
        bool up = false;
        while (f && !up && fgets(line, sizeof line, f)) up = strstr(line, want) != NULL;
        if (f) fclose(f);
        if (up) return true;
        usleep(100000);
    }
    return false;
}

/* The last error line ("error: ..." or "critical: ...") of a daemon's log, or its last line. */
static void last_error_line(const char *log, char *out, size_t cap) {
    char path[PATH_MAX + 64], line[1024];
    snprintf(path, sizeof path, "%s/logs/%s", dir, log);
    snprintf(out, cap, "no message (see %s)", path);
    FILE *f = fopen(path, "r");
    if (!f) return;
    bool have_err = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        bool err = strncmp(line, "error: ", 7) == 0 || strncmp(line, "critical: ", 10) == 0;
        if (!*line || (have_err && !err)) continue;
        const char *text = err ? strchr(line, ' ') + 1 : line;
        snprintf(out, cap, "%s", text);
        have_err = have_err || err;
    }
    fclose(f);
}

static void on_signal(int s) { got_signal = s; }

/* "key":"value" from one-line JSON (tssctl's output), into out. */
static bool jget(const char *json, const char *key, char *out, size_t cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) return false;
    p += strlen(pat);
    const char *e;
    if (*p == '"') {
        p++;
        e = strchr(p, '"');
    } else {
        e = p + strcspn(p, ",}");
    }
    if (!e || (size_t)(e - p) >= cap) return false;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return true;
}

static int write_file(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    int rc = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -1;
    close(fd);
    return rc;
}

static void json_escape(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static int usage(FILE *o, int code) {
    fprintf(o, "Usage: " PROG " [--session ID] [--n N] [--k K] [--message TEXT] [--serve]\n"
               "Env: MPC_SESSION_ID MPC_TOTAL_PARTIES MPC_THRESHOLD MPC_TSS_COORDINATOR_URL\n"
               "     MPC_TSS_MESSAGE MPC_TSS_STATE_DIR (default ./state)\n");
    return code;
}

/* A whole decimal number in [lo, hi], or -1 (nothing else accepted: "three",
 * "2x", "", overflow). */
static long parse_number(const char *text, long lo, long hi) {
    if (!text || !*text || *text == '+' || *text == '-' || *text == ' ') return -1;
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    return v;
}

static int port_from_url(const char *url) {
    const char *p = strrchr(url, ':');
    if (!p) return -1;
    return (int)parse_number(p + 1, 1, 65535);
}

/* A value for --n/--k (or their MPC_* variables): 64 naming the option when it is not a number. */
static bool number_option(const char *name, const char *text, int *out) {
    long v = parse_number(text, 0, 1000000);
    if (v < 0) {
        fprintf(stderr, PROG ": %s: '%s' is not a whole number\n", name, text);
        return false;
    }
    *out = (int)v;
    return true;
}

/* Session ids name a directory under the state dir: refused, never rewritten. */
static bool valid_session(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            return false;
    return true;
}

int main(int argc, char **argv) {
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    const char *session = getenv("MPC_SESSION_ID"), *message = getenv("MPC_TSS_MESSAGE");
    const char *state = getenv("MPC_TSS_STATE_DIR") ? getenv("MPC_TSS_STATE_DIR") : "./state";
    const char *url = getenv("MPC_TSS_COORDINATOR_URL") ? getenv("MPC_TSS_COORDINATOR_URL")
                                                        : "127.0.0.1:" DEFAULT_PORT;
    int n = 3, k = 2;
    if (getenv("MPC_TOTAL_PARTIES") && !number_option("MPC_TOTAL_PARTIES", getenv("MPC_TOTAL_PARTIES"), &n))
        return 64;
    if (getenv("MPC_THRESHOLD") && !number_option("MPC_THRESHOLD", getenv("MPC_THRESHOLD"), &k))
        return 64;
    bool serve = false;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--serve") == 0) serve = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout, 0);
        else if (strcmp(argv[i], "--version") == 0) return printf(PROG " " TSS_SOFTWARE "\n"), 0;
        else if (v && strcmp(argv[i], "--session") == 0) session = v, i++;
        else if (v && strcmp(argv[i], "--n") == 0) {
            if (!number_option("--n", v, &n)) return 64;
            i++;
        } else if (v && strcmp(argv[i], "--k") == 0) {
            if (!number_option("--k", v, &k)) return 64;
            i++;
        } else if (v && strcmp(argv[i], "--message") == 0) message = v, i++;
        else {
            fprintf(stderr, PROG ": %s '%s'\n", v || argv[i][0] != '-' ? "unknown argument" : "missing value for",
                    argv[i]);
            return usage(stderr, 64);
        }
    }
    if (session && *session && !valid_session(session)) {
        fprintf(stderr, PROG ": --session '%s': use 1-64 characters from A-Z a-z 0-9 . _ - "
                        "(it names a directory under the state dir)\n", session);
        return 64;
    }
    if (n < 2 || n > MAX_N || k < 2 || k > n) {
        fprintf(stderr, PROG ": need 2 <= k <= n <= %d (n=%d k=%d)\n", MAX_N, n, k);
        return 64;
    }
    int port = port_from_url(url);
    if (port < 0) {
        fprintf(stderr, PROG ": MPC_TSS_COORDINATOR_URL '%s' has no valid port\n", url);
        return 64;
    }
    if (!tss_is_ok(tss_crypto_init())) return die("libsodium init failed");
    char sess[65];
    if (session && *session) snprintf(sess, sizeof sess, "%s", session);
    else {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(sess, sizeof sess, "demo_%Y%m%dT%H%M%SZ", &tm);
    }
    ssize_t l = readlink("/proc/self/exe", bindir, sizeof bindir - 1);
    if (l <= 0) return die("cannot find my own binary");
    bindir[l] = '\0';
    *strrchr(bindir, '/') = '\0';
    mkdir(state, 0700);
    char abs_state[PATH_MAX];
    if (!realpath(state, abs_state)) return die("state dir %s: %s", state, strerror(errno));
    if (strlen(abs_state) > 1024) return die("state dir path too long");
    snprintf(dir, sizeof dir, "%s/%s", abs_state, sess);
    if (mkdir(dir, 0700) != 0) return die("%s: %s (choose another --session)", dir, strerror(errno));
    char p[PATH_MAX + 128], buf[8192], out[16384];
    snprintf(p, sizeof p, "%s/logs", dir);
    mkdir(p, 0700);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    printf("tssd demo: session %s, %d-of-%d, coordinator 127.0.0.1:%d, state %s\n", sess, k, n,
           port, dir);
    step("creating a private CA and mTLS certificates (tssctl pki)");
    char ca[PATH_MAX + 32], a1[PATH_MAX + 64], idn[64];
    snprintf(ca, sizeof ca, "%s/pki/ca", dir);
    snprintf(p, sizeof p, "%s/pki", dir);
    mkdir(p, 0700);
    if (run(NULL, 0, "pki.log", (char *[]){"tssctl", "pki", "init-ca", "--out", ca, "--days", "30", NULL}))
        return die("pki init-ca failed (see %s/logs/pki.log)", dir);
    const char *who[3] = {"coordinator", "operator", NULL};
    for (int i = 0; i < 2 + n; i++) {
        if (i < 2) snprintf(idn, sizeof idn, i == 0 ? "urn:tssd:coordinator" : "urn:tssd:operator:demo");
        else snprintf(idn, sizeof idn, "urn:tssd:party:%d", i - 1);
        snprintf(a1, sizeof a1, "%s/pki/%s", dir, i < 2 ? who[i] : idn + 9);
        for (char *c = a1 + strlen(dir); *c; c++)
            if (*c == ':') *c = '_';
        if (run(NULL, 0, "pki.log", (char *[]){"tssctl", "pki", "issue", "--ca", ca, "--identity", idn,
                                              "--out", a1, "--ip", "127.0.0.1", "--days", "30", NULL}))
            return die("pki issue %s failed (see %s/logs/pki.log)", idn, dir);
    }
    step("generating a DEMO-ONLY passphrase in %s/demo-passphrase (0600)", dir);
    uint8_t rnd[18];
    char pass[64];
    randombytes_buf(rnd, sizeof rnd);
    tss_hex_encode(pass, rnd, sizeof rnd);
    strcat(pass, "\n");
    snprintf(p, sizeof p, "%s/demo-passphrase", dir);
    if (write_file(p, pass, 0600)) return die("cannot write %s", p);
    char ident[MAX_N + 1][80];
    for (int i = 1; i <= n; i++) {
        step("provisioning party %d: BIP-39 mnemonic sealed with Argon2id + XChaCha20-Poly1305", i);
        snprintf(a1, sizeof a1, "%s/keystore_%d", dir, i);
        char pid_s[16];
        snprintf(pid_s, sizeof pid_s, "%d", i);
        if (run(out, sizeof out, "keystore.log", (char *[]){"tss-keystore", "init", "--dir", a1,
                "--party-id", pid_s, "--kdf", "interactive", "--passphrase-file", p, NULL}))
            return die("tss-keystore init failed (see %s/logs/keystore.log)", dir);
        out[strcspn(out, "\n")] = '\0';
        snprintf(ident[i], sizeof ident[i], "%.79s", out);
        printf("           identity %s\n", ident[i]);
    }
    step("writing configurations");
    FILE *f;
    snprintf(a1, sizeof a1, "%s/coordinator.yaml", dir);
    if (!(f = fopen(a1, "w"))) return die("%s: %s", a1, strerror(errno));
    fprintf(f, "listen: [127.0.0.1:%d]\ntls: {cert: %s/pki/coordinator/cert.pem, key: %s/pki/coordinator/key.pem, ca: %s/pki/ca/ca.pem}\nparties:\n",
            port, dir, dir, dir);
    for (int i = 1; i <= n; i++) fprintf(f, "  - {id: %d, identity: \"urn:tssd:party:%d\"}\n", i, i);
    fprintf(f, "operators:\n  - {name: demo, identity: \"urn:tssd:operator:demo\"}\nstate_dir: %s/coordinator_state\ntimeouts: {round: 30s}\nlog_level: info\n", dir);
    fclose(f);
    for (int i = 1; i <= n; i++) {
        snprintf(a1, sizeof a1, "%s/party_%d.yaml", dir, i);
        if (!(f = fopen(a1, "w"))) return die("%s: %s", a1, strerror(errno));
        fprintf(f, "party_id: %d\nkeystore: {dir: %s/keystore_%d, passphrase: {file: %s/demo-passphrase}}\n"
                   "coordinator: {address: [127.0.0.1:%d]}\ntls: {cert: %s/pki/party_%d/cert.pem, key: %s/pki/party_%d/key.pem, ca: %s/pki/ca/ca.pem}\npeers:\n",
                i, dir, i, dir, port, dir, i, dir, i, dir);
        for (int j = 1; j <= n; j++)
            if (j != i) fprintf(f, "  - {id: %d, identity: \"%s\"}\n", j, ident[j]);
        fprintf(f, "timeouts: {round: 30s, backoff_initial: 100ms, backoff_max: 1s}\nstate_dir: %s/party_%d_state\nlog_level: info\n", dir, i);
        fclose(f);
    }
    char opcfg[PATH_MAX + 32];
    snprintf(opcfg, sizeof opcfg, "%s/operator.yaml", dir);
    snprintf(buf, sizeof buf, "coordinator: {address: [127.0.0.1:%d]}\ntls: {cert: %s/pki/operator/cert.pem, key: %s/pki/operator/key.pem, ca: %s/pki/ca/ca.pem}\ntimeouts: {request: 120s}\n",
             port, dir, dir, dir);
    if (write_file(opcfg, buf, 0600)) return die("cannot write %s", opcfg);

    int rc = 1;
    step("starting tss-coordinator on 127.0.0.1:%d and %d tss-party processes (mutual TLS 1.3)", port, n);
    snprintf(a1, sizeof a1, "%s/coordinator.yaml", dir);
    pid_t coord_pid = spawn("tss-coordinator", a1, "coordinator.log");
    if (coord_pid < 0) return die("cannot start the coordinator");
    if (!coordinator_listening(coord_pid, port)) {
        char why[512];
        last_error_line("coordinator.log", why, sizeof why);
        stop_all();
        return die("the coordinator did not start on 127.0.0.1:%d: %s (set MPC_TSS_COORDINATOR_URL "
                   "to use another port)", port, why);
    }
    for (int i = 1; i <= n; i++) {
        char cfgp[PATH_MAX + 32], lg[32];
        snprintf(cfgp, sizeof cfgp, "%s/party_%d.yaml", dir, i);
        snprintf(lg, sizeof lg, "party_%d.log", i);
        if (spawn("tss-party", cfgp, lg) < 0) {
            stop_all();
            return die("cannot start party %d", i);
        }
    }
    int connected = 0;
    for (int t = 0; t < 300 && !got_signal; t++) {
        if (run(out, sizeof out, "tssctl.log", (char *[]){"tssctl", "--config", opcfg, "status", "--json", NULL}) == 0) {
            connected = 0;
            for (char *q = out; (q = strstr(q, "\"connected\":true")); q++) connected++;
            if (connected == n) break;
        }
        usleep(100000);
    }
    if (connected != n) {
        die("only %d of %d parties connected (see %s/logs)", connected, n, dir);
        goto stop;
    }
    step("all %d parties connected and authenticated", n);
    char kt[16], key_id[80], pub[140], addr[48], sig_json[4096] = "";
    snprintf(kt, sizeof kt, "%d", k);
    snprintf(key_id, sizeof key_id, "%s", sess);
    double t0 = now_s();
    step("distributed key generation (DKLS23 DKG, %d-of-%d): tssctl keygen --key-id %s --threshold %d", k, n, key_id, k);
    if (run(out, sizeof out, "tssctl.log", (char *[]){"tssctl", "--config", opcfg, "keygen", "--key-id", key_id, "--threshold", kt, "--json", NULL}) != 0 ||
        !jget(out, "publicKey", pub, sizeof pub) || !jget(out, "address", addr, sizeof addr)) {
        die("keygen failed (see %s/logs/tssctl.log and coordinator.log)", dir);
        goto stop;
    }
    step("keygen done in %.0f ms: public key %s", (now_s() - t0) * 1000, pub);
    printf("           address %s (no process ever held the private key)\n", addr);
    bool verified = true;
    char digest[72] = "", r_[72] = "", s_[72] = "", v_[8] = "", der[160] = "", eth[140] = "", signers[160] = "";
    if (message) {
        t0 = now_s();
        step("threshold signing of sha256(\"%s\") by %d parties: tssctl sign --message ...", message, k);
        verified = false;
        if (run(out, sizeof out, "tssctl.log", (char *[]){"tssctl", "--config", opcfg, "sign", "--key-id", key_id,
                "--message", (char *)message, "--hash", "sha256", "--json", NULL}) == 0 &&
            jget(out, "digest", digest, sizeof digest) && jget(out, "r", r_, sizeof r_) &&
            jget(out, "s", s_, sizeof s_) && jget(out, "v", v_, sizeof v_) &&
            jget(out, "der", der, sizeof der) && jget(out, "ethereum", eth, sizeof eth)) {
            const char *sg = strstr(out, "\"signers\":[");
            if (sg) {
                sg += 11;
                size_t m = strcspn(sg, "]");
                snprintf(signers, sizeof signers, "%.*s", (int)m, sg);
            }
            /* Verify here, independently of the coordinator and tssctl. */
            uint8_t d[32], rsv[65], pk[65];
            tss_eth_sig sig;
            uint8_t want[32];
            crypto_hash_sha256(want, (const uint8_t *)message, strlen(message));
            verified = tss_is_ok(tss_hex_decode(d, 32, digest, "digest")) &&
                       memcmp(d, want, 32) == 0 &&
                       tss_is_ok(tss_hex_decode(rsv, 65, eth, "signature")) &&
                       tss_is_ok(tss_hex_decode(pk, 65, pub, "public key")) &&
                       tss_is_ok(tss_eth_sig_from_rsv(&sig, rsv)) &&
                       tss_is_ok(tss_eth_sig_verify(d, &sig, pk, 65));
        }
        if (!verified) {
            die("signing or verification failed (see %s/logs)", dir);
        } else {
            step("signature assembled and verified in %.0f ms by signers [%s]", (now_s() - t0) * 1000, signers);
            printf("           r=%s\n           s=%s v=%s\n           ethereum=0x%s\n", r_, s_, v_, eth);
        }
    }
    {
        snprintf(a1, sizeof a1, "%s/aggregated.json", dir);
        time_t t = time(NULL);
        struct tm tm;
        char ts[40];
        gmtime_r(&t, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!(f = fopen(a1, "w"))) {
            die("%s: %s", a1, strerror(errno));
            goto stop;
        }
        fprintf(f, "{\n  \"sessionId\": ");
        json_escape(f, sess);
        fprintf(f, ",\n  \"threshold\": %d,\n  \"totalParties\": %d,\n  \"aggregatedPublicKey\": \"%s\",\n"
                   "  \"address\": \"%s\",\n  \"timestamp\": \"%s\",\n  \"keyId\": \"%s\",\n  \"participants\": [",
                k, n, pub, addr, ts, key_id);
        for (int i = 1; i <= n; i++) fprintf(f, "%s%d", i > 1 ? ", " : "", i);
        fprintf(f, "]");
        if (message) {
            fprintf(f, ",\n  \"message\": ");
            json_escape(f, message);
            fprintf(f, ",\n  \"digestAlgorithm\": \"sha256\",\n  \"digest\": \"%s\",\n  \"signers\": [%s],\n"
                       "  \"signature\": {\"r\": \"%s\", \"s\": \"%s\", \"v\": %s, \"der\": \"%s\", \"ethereum\": \"0x%s\"},\n"
                       "  \"verified\": %s",
                    digest, signers, r_, s_, v_[0] ? v_ : "null", der, eth, verified ? "true" : "false");
        }
        fprintf(f, "\n}\n");
        fclose(f);
        step("wrote %s", a1);
    }
    (void)sig_json;
    rc = verified ? 0 : 1;
    if (serve && rc == 0) {
        printf("\nCluster running. Try:\n  %s/tssctl --config %s status\n  %s/tssctl --config %s sign --key-id %s --message hello\n"
               "Press Ctrl-C to stop every process.\n", bindir, opcfg, bindir, opcfg, key_id);
        fflush(stdout);
        while (!got_signal) pause();
    }
stop:
    step("stopping the daemons");
    stop_all();
    step("%s", rc == 0 ? "done: everything verified" : "FAILED");
    return rc;
}
