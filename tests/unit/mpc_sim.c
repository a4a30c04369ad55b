#include "tests/unit/mpc_sim.h"

#include "mpc/dkg.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* FIFO of pending messages; deliveries append. */
typedef struct {
    tss_mpc_msg *q;
    size_t head, tail, cap;
} queue;

static void push(queue *q, const tss_mpc_msg *m) {
    if (q->tail == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->q = realloc(q->q, q->cap * sizeof *q->q);
    }
    tss_mpc_msg c = *m;
    c.data = malloc(m->len ? m->len : 1);
    memcpy(c.data, m->data, m->len);
    q->q[q->tail++] = c;
}

static int index_of(const sim_net *net, uint16_t id) {
    for (size_t k = 0; k < net->n; k++)
        if (net->ids[k] == id) return (int)k;
    return -1;
}

static void deliver_one(sim_net *net, queue *q, const tss_mpc_msg *m, uint16_t to) {
    int k = index_of(net, to);
    if (k < 0 || net->error[k] != TSS_OK) return;
    tss_mpc_msg copy = *m;
    copy.data = malloc(m->len ? m->len : 1);
    memcpy(copy.data, m->data, m->len);
    sim_action a = net->hook ? net->hook(net->hook_ctx, &copy, to) : SIM_DELIVER;
    if (a == SIM_DELIVER) {
        int from = index_of(net, m->from);
        if (from >= 0) net->bytes_sent[from] += m->len;
        tss_mpc_outbox out;
        tss_mpc_outbox_init(&out);
        tss_result r = net->deliver(net->party[k], &copy, &out);
        if (!tss_is_ok(r)) {
            net->error[k] = r.err;
            snprintf(net->detail[k], sizeof net->detail[k], "%s", tss_error_detail());
        }
        for (size_t i = 0; i < out.count; i++) push(q, &out.msgs[i]);
        tss_mpc_outbox_clear(&out);
    }
    free(copy.data);
}

void sim_run(sim_net *net, tss_mpc_outbox *initial) {
    queue q = {0};
    for (size_t i = 0; i < initial->count; i++) push(&q, &initial->msgs[i]);
    while (q.head < q.tail) {
        tss_mpc_msg m = q.q[q.head++];
        if (m.to == TSS_MPC_BROADCAST) {
            for (size_t k = 0; k < net->n; k++)
                if (net->ids[k] != m.from) deliver_one(net, &q, &m, net->ids[k]);
        } else {
            deliver_one(net, &q, &m, m.to);
        }
        free(m.data);
    }
    free(q.q);
}

static tss_result dkg_deliver(void *party, const tss_mpc_msg *m, tss_mpc_outbox *out) {
    return tss_dkg_handle(party, m, out);
}

void sim_keygen(size_t n, uint16_t t, uint8_t session_byte, tss_keyshare **shares) {
    sim_net net;
    memset(&net, 0, sizeof net);
    net.n = n;
    net.deliver = dkg_deliver;
    tss_mpc_outbox init;
    tss_mpc_outbox_init(&init);
    for (size_t i = 0; i < n; i++) {
        tss_dkg_config c = {.self = (uint16_t)(i + 1), .threshold = t, .n = (uint16_t)n};
        for (size_t k = 0; k < n; k++) c.parties[k] = (uint16_t)(k + 1);
        snprintf(c.key_id, sizeof c.key_id, "sim-key-%zu-%u", n, t);
        memset(c.session_id, session_byte, sizeof c.session_id);
        net.ids[i] = c.self;
        shares[i] = NULL;
        if (!tss_is_ok(tss_dkg_new((tss_dkg **)&net.party[i], &c)) ||
            !tss_is_ok(tss_dkg_start(net.party[i], &init)))
            abort();
    }
    sim_run(&net, &init);
    tss_mpc_outbox_clear(&init);
    for (size_t i = 0; i < n; i++) {
        if (!tss_dkg_finished(net.party[i]) ||
            !tss_is_ok(tss_dkg_take_share(net.party[i], &shares[i])))
            abort();
        tss_dkg_free(net.party[i]);
    }
}
