/*
 * Unit tests of transport over real sockets on loopback: CURVE with the
 * ZAP handler admits an enrolled key and nothing else, and messages that
 * are not ours (another cluster, garbage, absurd values, oversized) are
 * dropped without reaching a handler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "transport.h"

#define EP "tcp://127.0.0.1:7599"

typedef struct {
    void *ctx;
    zap_t *zap;
    void *server;
    curve_keys_t srv, ok, rogue;
} fx_t;

static void
s_keys(curve_keys_t *k)
{
    assert_int_equal(zmq_curve_keypair(k->pub, k->sec), 0);
}

static int
s_setup(void **state)
{
    static fx_t f;

    memset(&f, 0, sizeof(f));
    f.ctx = zmq_ctx_new();
    s_keys(&f.srv);
    s_keys(&f.ok);
    s_keys(&f.rogue);
    f.zap = zap_start(f.ctx);
    assert_non_null(f.zap);
    zap_allow(f.zap, "sub1", f.ok.pub);
    f.server = transport_server(f.ctx, ZMQ_ROUTER, EP, &f.srv,
                                TRANSPORT_DOMAIN_CLUSTER);
    assert_non_null(f.server);
    *state = &f;
    return 0;
}

static int
s_teardown(void **state)
{
    fx_t *f = *state;

    zmq_close(f->server);
    zap_stop(&f->zap);
    zmq_ctx_term(f->ctx);
    return 0;
}

static void
s_heartbeat(void *client, const char *cluster)
{
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__Heartbeat hb = ITL__HEARTBEAT__INIT;

    hb.seq = 1;
    env.body_case = ITL__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    assert_int_equal(transport_send(client, NULL, 0, cluster, &env), ERR_OK);
}

/* Waits up to ms for a message; the result of transport_recv. */
static int
s_wait(fx_t *f, int ms, transport_msg_t *m)
{
    zmq_pollitem_t item = {f->server, 0, ZMQ_POLLIN, 0};

    if (zmq_poll(&item, 1, ms) <= 0)
        return ERR_NOTFOUND;
    return transport_recv(f->server, 1, "lab", m);
}

static void
test_enrolled_key_admitted_as_its_host(void **state)
{
    fx_t *f = *state;
    void *c = transport_client(f->ctx, ZMQ_DEALER, EP, &f->ok, f->srv.pub);
    transport_msg_t m;

    assert_non_null(c);
    s_heartbeat(c, "lab");
    assert_int_equal(s_wait(f, 3000, &m), ERR_OK);
    assert_string_equal(m.user, "sub1");
    assert_int_equal(m.env->body_case, ITL__ENVELOPE__BODY_HEARTBEAT);
    transport_msg_clear(&m);
    zmq_close(c);
}

static void
test_unknown_key_refused(void **state)
{
    fx_t *f = *state;
    void *c = transport_client(f->ctx, ZMQ_DEALER, EP, &f->rogue, f->srv.pub);
    transport_msg_t m;

    assert_non_null(c);
    s_heartbeat(c, "lab");
    assert_int_equal(s_wait(f, 1500, &m), ERR_NOTFOUND);
    zmq_close(c);
}

static void
test_wrong_server_key_gets_nowhere(void **state)
{
    fx_t *f = *state;
    curve_keys_t other;
    void *c;
    transport_msg_t m;

    s_keys(&other);
    c = transport_client(f->ctx, ZMQ_DEALER, EP, &f->ok, other.pub);
    assert_non_null(c);
    s_heartbeat(c, "lab");
    assert_int_equal(s_wait(f, 1500, &m), ERR_NOTFOUND);
    zmq_close(c);
}

static void
test_foreign_and_garbage_dropped(void **state)
{
    fx_t *f = *state;
    void *c = transport_client(f->ctx, ZMQ_DEALER, EP, &f->ok, f->srv.pub);
    transport_msg_t m;
    Itl__Envelope env = ITL__ENVELOPE__INIT;
    Itl__ResetOrder o = ITL__RESET_ORDER__INIT;

    assert_non_null(c);
    s_heartbeat(c, "another-cluster");
    assert_int_equal(s_wait(f, 3000, &m), ERR_PROTO);
    assert_string_equal(err_detail(),
                        "dropped a message for cluster "
                        "'another-cluster' from sub1 (this is cluster "
                        "'lab')");

    assert_int_equal(zmq_send(c, "\xff\xff\xff garbage", 12, 0), 12);
    assert_int_equal(s_wait(f, 3000, &m), ERR_PROTO);
    assert_string_equal(err_detail(), "dropped an undecodable message of 12 "
                                      "bytes from sub1");

    o.job_id = 0; /* absurd: no job is 0 */
    o.deadline_ms = 1000;
    o.itl.data = (uint8_t *)"x";
    o.itl.len = 1;
    env.body_case = ITL__ENVELOPE__BODY_RESET_ORDER;
    env.reset_order = &o;
    assert_int_equal(transport_send(c, NULL, 0, "lab", &env), ERR_OK);
    assert_int_equal(s_wait(f, 3000, &m), ERR_PROTO);
    assert_string_equal(err_detail(), "dropped a message from sub1: "
                                      "reset_order.job_id is 0");

    /* Still connected: a good message after the bad ones gets through. */
    s_heartbeat(c, "lab");
    assert_int_equal(s_wait(f, 3000, &m), ERR_OK);
    transport_msg_clear(&m);
    zmq_close(c);
}

static void
test_oversized_message_never_arrives(void **state)
{
    fx_t *f = *state;
    void *c = transport_client(f->ctx, ZMQ_DEALER, EP, &f->ok, f->srv.pub);
    static uint8_t big[TRANSPORT_MAX_MSG + 16];
    transport_msg_t m;

    assert_non_null(c);
    memset(big, 'A', sizeof(big));
    assert_int_equal(zmq_send(c, big, sizeof(big), 0), (int)sizeof(big));
    assert_int_equal(s_wait(f, 1500, &m), ERR_NOTFOUND);
    zmq_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrolled_key_admitted_as_its_host),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_wrong_server_key_gets_nowhere),
        cmocka_unit_test(test_foreign_and_garbage_dropped),
        cmocka_unit_test(test_oversized_message_never_arrives),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
