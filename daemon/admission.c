#include "daemon/admission.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static void make_key(const struct sockaddr_storage *ss, uint8_t key[17], char *name, size_t cap) {
    memset(key, 0, 17);
    key[0] = (uint8_t)ss->ss_family;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        memcpy(key + 1, &in->sin_addr, 4);
        if (!inet_ntop(AF_INET, &in->sin_addr, name, (socklen_t)cap)) snprintf(name, cap, "?");
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        memcpy(key + 1, &in6->sin6_addr, 16);
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, name, (socklen_t)cap)) snprintf(name, cap, "?");
    } else {
        snprintf(name, cap, "local");
    }
}

void tss_admit_init(tss_admit *a, uint32_t rate, int64_t now) {
    memset(a, 0, sizeof *a);
    a->rate = rate;
    a->burst = 4 * rate;
    a->last_report = now;
    a->overflow.used = true;
    snprintf(a->overflow.name, sizeof a->overflow.name, "(other addresses, table full)");
}

/* A slot can be reused once its address holds nothing and its bucket is full. */
static bool idle(const tss_admit *a, const tss_admit_entry *e, int64_t now) {
    return e->unauth == 0 && e->refused == 0 && e->evicted == 0 &&
           tss_bucket_full(&e->bucket, a->rate, a->burst, now);
}

tss_admit_entry *tss_admit_lookup(tss_admit *a, const struct sockaddr_storage *ss, int64_t now) {
    uint8_t key[17];
    char name[64];
    make_key(ss, key, name, sizeof name);
    tss_admit_entry *unused = NULL, *reusable = NULL;
    for (size_t i = 0; i < TSS_ADMIT_SLOTS; i++) {
        tss_admit_entry *e = &a->slots[i];
        if (e->used && memcmp(e->key, key, sizeof key) == 0) return e;
        if (!e->used) {
            if (!unused) unused = e;
        } else if (!unused && !reusable && idle(a, e, now)) {
            reusable = e; /* nothing to remember about that address */
        }
    }
    tss_admit_entry *free_slot = unused ? unused : reusable;
    if (!free_slot) return &a->overflow;
    memset(free_slot, 0, sizeof *free_slot);
    memcpy(free_slot->key, key, sizeof key);
    memcpy(free_slot->name, name, sizeof name);
    free_slot->used = true;
    return free_slot;
}

bool tss_admit_take(tss_admit *a, tss_admit_entry *e, int64_t now) {
    uint32_t retry;
    return tss_bucket_take(&e->bucket, a->rate, a->burst, now, &retry);
}

void tss_admit_refund(tss_admit *a, tss_admit_entry *e) { tss_bucket_refund(&e->bucket, a->burst); }

bool tss_admit_note_refused(tss_admit_entry *e) { return e->refused++ == 0 && e->evicted == 0; }
bool tss_admit_note_evicted(tss_admit_entry *e) { return e->evicted++ == 0 && e->refused == 0; }

void tss_admit_report(tss_admit *a, int64_t now,
                      void (*report)(const tss_admit_entry *e, void *arg), void *arg) {
    if (now - a->last_report < TSS_ADMIT_REPORT_MS) return;
    a->last_report = now;
    for (size_t i = 0; i <= TSS_ADMIT_SLOTS; i++) {
        tss_admit_entry *e = i < TSS_ADMIT_SLOTS ? &a->slots[i] : &a->overflow;
        if (!e->used || (e->refused == 0 && e->evicted == 0)) continue;
        report(e, arg);
        e->refused = e->evicted = 0;
    }
}
