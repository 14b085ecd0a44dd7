#include "adminsock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "log.h"

#define ADMIN_MAX_MSG (64 * 1024)

void *
adminsock_bind(void *ctx, const char *path, int gid)
{
    char endpoint[300];
    void *s;
    int linger = 0, hwm = 0;
    int64_t max = ADMIN_MAX_MSG;
    mode_t old;

    snprintf(endpoint, sizeof(endpoint), "ipc://%s", path);
    s = zmq_socket(ctx, ZMQ_ROUTER);
    if (s == NULL) {
        err_set(ERR_NET, "cannot make the admin socket: %s",
                zmq_strerror(errno));
        return NULL;
    }
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max));
    /*
     * No send limit: a ROUTER silently drops what goes over it, and a reset
     * of 1000 nodes writes 3000 lines; a lost final event left itl-admin
     * waiting for its timeout.
     */
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    /* A stale socket file of a dead agent would make the bind fail. */
    unlink(path);
    /* Create the socket file private from the start, not chmod it later. */
    old = umask(gid >= 0 ? 0117 : 0177);
    if (zmq_bind(s, endpoint) != 0) {
        umask(old);
        err_set(ERR_NET, "cannot open the admin socket %s: %s", path,
                zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    umask(old);
    if (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) < 0)
        log_warning("cannot give the admin socket %s to group %d: %s", path,
                    gid, strerror(errno));
    return s;
}

int
adminsock_recv(void *sock, adminsock_req_t *r)
{
    zmq_msg_t msg;
    int n, more = 0;
    size_t sz = sizeof(more);

    memset(r, 0, sizeof(*r));
    n = zmq_recv(sock, r->rid, sizeof(r->rid), ZMQ_DONTWAIT);
    if (n < 0)
        return ERR_NOTFOUND;
    r->ridlen = (size_t)n > sizeof(r->rid) ? sizeof(r->rid) : (size_t)n;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        zmq_msg_close(&msg);
        return err_set(ERR_PROTO, "admin request without a body");
    }
    r->req = itl__admin_request__unpack(NULL, zmq_msg_size(&msg),
                                        zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    while (more) {
        zmq_msg_init(&msg);
        zmq_msg_recv(&msg, sock, 0);
        zmq_msg_close(&msg);
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    }
    if (r->req == NULL || r->req->n_argv == 0) {
        adminsock_req_clear(r);
        return err_set(ERR_PROTO, "dropped an undecodable admin request");
    }
    return ERR_OK;
}

void
adminsock_req_clear(adminsock_req_t *r)
{
    if (r->req != NULL) {
        if (r->req->password)
            memset(r->req->password, 0, strlen(r->req->password));
        if (r->req->secret)
            memset(r->req->secret, 0, strlen(r->req->secret));
        if (r->req->has_data && r->req->data.data != NULL)
            memset(r->req->data.data, 0, r->req->data.len);
        itl__admin_request__free_unpacked(r->req, NULL);
    }
    r->req = NULL;
}

static void
s_send_event(void *sock, const uint8_t *rid, size_t ridlen,
             const Itl__AdminEvent *ev)
{
    uint8_t small[8192], *buf = small;
    size_t len = itl__admin_event__get_packed_size(ev);

    /* Only events that carry a file are larger. */
    if (len > sizeof(small) &&
        (len > ADMIN_MAX_MSG || (buf = malloc(len)) == NULL))
        return;
    itl__admin_event__pack(ev, buf);
    if (zmq_send(sock, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
        log_debug("an admin client went away: %s", zmq_strerror(errno));
    if (buf != small) {
        memset(buf, 0, len);
        free(buf);
    }
}

void
adminsock_data(void *sock, const uint8_t *rid, size_t ridlen,
               const uint8_t *data, size_t len)
{
    Itl__AdminEvent ev = ITL__ADMIN_EVENT__INIT;

    ev.has_data = 1;
    ev.data.data = (uint8_t *)data;
    ev.data.len = len;
    s_send_event(sock, rid, ridlen, &ev);
}

void
adminsock_line(void *sock, const uint8_t *rid, size_t ridlen, int is_err,
               const char *fmt, ...)
{
    Itl__AdminEvent ev = ITL__ADMIN_EVENT__INIT;
    char line[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ev.line = line;
    ev.has_is_stderr = 1;
    ev.is_stderr = is_err != 0;
    s_send_event(sock, rid, ridlen, &ev);
}

void
adminsock_done(void *sock, const uint8_t *rid, size_t ridlen, int status)
{
    Itl__AdminEvent ev = ITL__ADMIN_EVENT__INIT;

    ev.has_final = 1;
    ev.final = 1;
    ev.has_status = 1;
    ev.status = status;
    s_send_event(sock, rid, ridlen, &ev);
}

/* What a client keeps of the agent's answers besides printing them. */
typedef struct {
    char *capture; /* last stdout line, not printed, when not NULL */
    size_t caplen;
    uint8_t **got; /* the data of the last data event, when not NULL */
    size_t *gotlen;
    adminsock_line_fn *fn; /* every stdout line, when not NULL */
    void *arg;
} s_keep_t;

static void
s_keep_data(const Itl__AdminEvent *ev, const s_keep_t *k)
{
    if (!ev->has_data || k->got == NULL)
        return;
    free(*k->got);
    *k->got = malloc(ev->data.len ? ev->data.len : 1);
    *k->gotlen = *k->got ? ev->data.len : 0;
    if (*k->got != NULL && ev->data.len > 0)
        memcpy(*k->got, ev->data.data, ev->data.len);
}

/* A PAIR socket that receives the connection events of s, or NULL. */
static void *
s_monitor(void *ctx, void *s)
{
    char ep[64];
    void *mon;
    int linger = 0;

    snprintf(ep, sizeof(ep), "inproc://admin-monitor-%p", s);
    if (zmq_socket_monitor(s, ep,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_CONNECT_RETRIED) != 0)
        return NULL;
    mon = zmq_socket(ctx, ZMQ_PAIR);
    if (mon == NULL)
        return NULL;
    zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(mon, ep) != 0) {
        zmq_close(mon);
        return NULL;
    }
    return mon;
}

/* Reads one event of the monitor: its number, or -1. */
static int
s_monitor_event(void *mon)
{
    zmq_msg_t msg;
    uint16_t ev = 0;
    int more = 0;
    size_t sz = sizeof(more);

    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, mon, 0) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    if (zmq_msg_size(&msg) >= sizeof(ev))
        memcpy(&ev, zmq_msg_data(&msg), sizeof(ev));
    zmq_msg_close(&msg);
    zmq_getsockopt(mon, ZMQ_RCVMORE, &more, &sz);
    while (more) { /* the endpoint frame */
        zmq_msg_init(&msg);
        zmq_msg_recv(&msg, mon, 0);
        zmq_msg_close(&msg);
        zmq_getsockopt(mon, ZMQ_RCVMORE, &more, &sz);
    }
    return ev;
}

/* Non-zero when the connection failed; the reason is printed. */
static int
s_connection_lost(void *mon, const char *path, int *connected)
{
    int ev = s_monitor_event(mon);

    if (ev == ZMQ_EVENT_CONNECTED) {
        *connected = 1;
        return 0;
    }
    if (ev == ZMQ_EVENT_CONNECT_RETRIED && !*connected) {
        fprintf(stderr,
                "itl-admin: no agent listens on %s (the socket of "
                "an agent that stopped?); start the agent, or check "
                "--config\n",
                path);
        return 1;
    }
    if (ev == ZMQ_EVENT_DISCONNECTED) {
        fprintf(stderr,
                "itl-admin: the agent at %s went away before "
                "it answered (it stopped or crashed); see its log, and "
                "for a reset run 'itl-admin show reset' once it is "
                "back\n",
                path);
        return 1;
    }
    return 0;
}

static int
s_print_events(void *s, void *mon, const char *path, int timeout_ms,
               const s_keep_t *k)
{
    int connected = 0;

    for (;;) {
        zmq_pollitem_t items[] = {{s, 0, ZMQ_POLLIN, 0},
                                  {mon, 0, ZMQ_POLLIN, 0}};
        Itl__AdminEvent *ev;
        zmq_msg_t msg;
        int status, n = zmq_poll(items, mon ? 2 : 1, timeout_ms);

        if (n > 0 && !(items[0].revents & ZMQ_POLLIN)) {
            if (s_connection_lost(mon, path, &connected))
                return 2;
            continue;
        }
        if (n <= 0) {
            fprintf(stderr,
                    "itl-admin: the agent at %s did not answer "
                    "within %d s; is it running? (systemctl status "
                    "itl-publisher or itl-subscriber)\n",
                    path, timeout_ms / 1000);
            return 2;
        }
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s, 0) < 0) {
            zmq_msg_close(&msg);
            continue;
        }
        ev = itl__admin_event__unpack(NULL, zmq_msg_size(&msg),
                                      zmq_msg_data(&msg));
        zmq_msg_close(&msg);
        if (ev == NULL) {
            fprintf(stderr, "itl-admin: undecodable answer from %s\n", path);
            return 2;
        }
        s_keep_data(ev, k);
        if (ev->line != NULL && k->fn != NULL && !ev->is_stderr) {
            k->fn(k->arg, ev->line);
        } else if (ev->line != NULL && k->capture != NULL && !ev->is_stderr) {
            snprintf(k->capture, k->caplen, "%s", ev->line);
        } else if (ev->line != NULL) {
            FILE *out = ev->is_stderr ? stderr : stdout;
            fprintf(out, "%s\n", ev->line);
            fflush(out);
        }
        status = ev->final ? ev->status : -1;
        itl__admin_event__free_unpacked(ev, NULL);
        if (status >= 0)
            return status;
    }
}

int
adminsock_call(const char *path, int argc, char **argv, const char *password,
               int json, int timeout_ms)
{
    return adminsock_query(path, argc, argv, password, json, timeout_ms, NULL,
                           0);
}

static int s_request(const char *path, Itl__AdminRequest *req, int timeout_ms,
                     const s_keep_t *k);

int
adminsock_query(const char *path, int argc, char **argv, const char *password,
                int json, int timeout_ms, char *capture, size_t caplen)
{
    Itl__AdminRequest req = ITL__ADMIN_REQUEST__INIT;
    s_keep_t k = {capture, caplen, NULL, NULL, NULL, NULL};

    req.n_argv = (size_t)argc;
    req.argv = argv;
    req.password = (char *)password;
    req.has_json = 1;
    req.json = json != 0;
    return s_request(path, &req, timeout_ms, &k);
}

int
adminsock_exchange(const char *path, int argc, char **argv,
                   const char *password, const uint8_t *data, size_t len,
                   uint8_t **got, size_t *gotlen, int timeout_ms)
{
    Itl__AdminRequest req = ITL__ADMIN_REQUEST__INIT;
    s_keep_t k = {NULL, 0, got, gotlen, NULL, NULL};
    int rc;

    if (got != NULL) {
        *got = NULL;
        *gotlen = 0;
    }
    req.n_argv = (size_t)argc;
    req.argv = argv;
    req.password = (char *)password;
    if (data != NULL) {
        req.has_data = 1;
        req.data.data = (uint8_t *)data;
        req.data.len = len;
    }
    rc = s_request(path, &req, timeout_ms, &k);
    if (rc != 0 && got != NULL) {
        free(*got);
        *got = NULL;
        *gotlen = 0;
    }
    return rc;
}

int
adminsock_query_lines(const char *path, int argc, char **argv, int timeout_ms,
                      adminsock_line_fn *fn, void *arg)
{
    Itl__AdminRequest req = ITL__ADMIN_REQUEST__INIT;
    s_keep_t k = {NULL, 0, NULL, NULL, fn, arg};

    req.n_argv = (size_t)argc;
    req.argv = argv;
    return s_request(path, &req, timeout_ms, &k);
}

static int
s_request(const char *path, Itl__AdminRequest *req, int timeout_ms,
          const s_keep_t *k)
{
    char endpoint[300];
    void *ctx = NULL, *s = NULL;
    uint8_t *buf = NULL;
    size_t len;
    void *mon = NULL;
    int rc = 2, linger = 0;

    if (access(path, F_OK) < 0) {
        fprintf(stderr,
                "itl-admin: no agent socket at %s (%s); is the "
                "agent running, and is this its configuration?\n",
                path, strerror(errno));
        return 2;
    }
    if (access(path, W_OK) < 0) {
        fprintf(stderr,
                "itl-admin: cannot open the agent socket %s: %s; "
                "run itl-admin as the agent's user or group\n",
                path, strerror(errno));
        return 2;
    }
    len = itl__admin_request__get_packed_size(req);
    buf = malloc(len ? len : 1);
    ctx = zmq_ctx_new();
    if (buf == NULL || ctx == NULL)
        goto out;
    itl__admin_request__pack(req, buf);
    snprintf(endpoint, sizeof(endpoint), "ipc://%s", path);
    s = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    /* Watch the connection, so that an agent that dies while it works is
     * reported at once instead of after the whole timeout. */
    mon = s_monitor(ctx, s);
    if (zmq_connect(s, endpoint) != 0 || zmq_send(s, buf, len, 0) < 0) {
        fprintf(stderr, "itl-admin: cannot reach the agent at %s: %s\n", path,
                zmq_strerror(errno));
        goto out;
    }
    rc = s_print_events(s, mon, path, timeout_ms, k);
out:
    if (buf != NULL) {
        memset(buf, 0, len);
        free(buf);
    }
    if (mon != NULL)
        zmq_close(mon);
    if (s != NULL)
        zmq_close(s);
    if (ctx != NULL)
        zmq_ctx_term(ctx);
    return rc;
}
