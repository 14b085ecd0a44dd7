#include "tftpc.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

enum {
    S_OP_RRQ = 1,
    S_OP_DATA = 3,
    S_OP_ACK = 4,
    S_OP_ERROR = 5,
    S_OP_OACK = 6
};

/* TFTP error codes this client sends or tells apart. */
enum {
    S_E_NOTFOUND = 1,
    S_E_DISKFULL = 3,
    S_E_ILLEGAL = 4,
    S_E_BADTID = 5,
    S_E_OPTIONS = 8
};

#define S_MAX_BLKSIZE  65464
#define S_MAX_PACKET   (4 + S_MAX_BLKSIZE)
#define S_MAX_FILENAME 255

struct s_xfer {
    int fd;
    struct sockaddr_storage srv, peer;
    socklen_t srvlen, peerlen;
    int have_peer;
    char ep[300]; /* HOST:PORT, for messages */
    const char *filename;
    size_t max;
    int timeout_ms, retry_ms;
    int64_t deadline, next_retx;
    int ask_blksize, ask_tsize, options_sent;
    uint8_t out[S_MAX_FILENAME + 64];
    size_t outlen;
    uint8_t *in;
    uint8_t *data;
    size_t len, cap;
    uint16_t block; /* last block received */
    int blksize;
    tftpc_info_t info;
};

static int64_t
s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies a peer's string as printable ASCII, capped, into out. */
static void
s_quote(const uint8_t *s, size_t n, char *out, size_t size)
{
    size_t o = 0, i;

    for (i = 0; i < n && s[i] != '\0' && o + 4 < size; i++) {
        if (i >= TFTPC_MAX_QUOTE)
            break;
        out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    }
    if (i < n && s[i] != '\0') {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int
s_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b,
            int with_port)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

        return x->sin_addr.s_addr == y->sin_addr.s_addr &&
               (!with_port || x->sin_port == y->sin_port);
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

        return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 &&
               (!with_port || x->sin6_port == y->sin6_port);
    }
    return 0;
}

static int
s_open(struct s_xfer *x, const char *host, int port)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char portstr[8];
    int rc;

    snprintf(x->ep, sizeof(x->ep),
             strchr(host, ':') ? "[%.250s]:%d" : "%.250s:%d", host, port);
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0)
        return err_set(ERR_NET, "tftp: cannot resolve %s: %s", x->ep,
                       gai_strerror(rc));
    x->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (x->fd < 0 || ai->ai_addrlen > sizeof(x->srv)) {
        freeaddrinfo(ai);
        return err_set(ERR_NET, "tftp: socket for %s: %s", x->ep,
                       strerror(errno));
    }
    memcpy(&x->srv, ai->ai_addr, ai->ai_addrlen);
    x->srvlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return ERR_OK;
}

/* Sends out[0..outlen) to the server (before its TID is known) or peer. */
static int
s_send_out(struct s_xfer *x)
{
    const struct sockaddr_storage *to = x->have_peer ? &x->peer : &x->srv;
    socklen_t tolen = x->have_peer ? x->peerlen : x->srvlen;

    x->next_retx = s_now_ms() + x->retry_ms;
    if (sendto(x->fd, x->out, x->outlen, 0, (const struct sockaddr *)to,
               tolen) < 0)
        return err_set(ERR_NET, "tftp: cannot send to %s: %s", x->ep,
                       strerror(errno));
    return ERR_OK;
}

static size_t
s_put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s) + 1;

    memcpy(p, s, n);
    return n;
}

static int
s_send_rrq(struct s_xfer *x)
{
    uint8_t *p = x->out;
    char num[16];

    *p++ = 0;
    *p++ = S_OP_RRQ;
    p += s_put_str(p, x->filename);
    p += s_put_str(p, "octet");
    x->options_sent = 0;
    if (x->ask_blksize > 0) {
        snprintf(num, sizeof(num), "%d", x->ask_blksize);
        p += s_put_str(p, "blksize");
        p += s_put_str(p, num);
        x->options_sent = 1;
    }
    if (x->ask_tsize) {
        p += s_put_str(p, "tsize");
        p += s_put_str(p, "0");
        x->options_sent = 1;
    }
    x->outlen = (size_t)(p - x->out);
    x->have_peer = 0;
    return s_send_out(x);
}

static int
s_send_ack(struct s_xfer *x, uint16_t block)
{
    x->out[0] = 0;
    x->out[1] = S_OP_ACK;
    x->out[2] = (uint8_t)(block >> 8);
    x->out[3] = (uint8_t)block;
    x->outlen = 4;
    return s_send_out(x);
}

/* Tells a peer about a problem; best effort, nothing is retransmitted. */
static void
s_send_error(struct s_xfer *x, const struct sockaddr_storage *to,
             socklen_t tolen, int code, const char *msg)
{
    uint8_t pkt[128];
    size_t n = 4;

    pkt[0] = 0;
    pkt[1] = S_OP_ERROR;
    pkt[2] = 0;
    pkt[3] = (uint8_t)code;
    n += s_put_str(pkt + 4, msg);
    (void)sendto(x->fd, pkt, n, 0, (const struct sockaddr *)to, tolen);
}

static int
s_on_error(struct s_xfer *x, const uint8_t *pkt, size_t n)
{
    char msg[TFTPC_MAX_QUOTE + 8];
    int code;

    if (n < 4)
        return err_set(ERR_PROTO,
                       "tftp: %s sent a short error packet "
                       "(%zu bytes)",
                       x->ep, n);
    code = pkt[2] << 8 | pkt[3];
    s_quote(pkt + 4, n - 4, msg, sizeof(msg));
    if (code == S_E_OPTIONS && x->options_sent && x->len == 0) {
        /* The server refuses options: ask again, plainly. */
        x->ask_blksize = 0;
        x->ask_tsize = 0;
        x->blksize = 512;
        return s_send_rrq(x);
    }
    if (code == S_E_NOTFOUND)
        return err_set(ERR_NOTFOUND,
                       "tftp: %s has no file \"%.100s\" "
                       "(TFTP error 1: \"%s\")",
                       x->ep, x->filename, msg);
    return err_set(ERR_REFUSED,
                   "tftp: %s refused \"%.100s\" (TFTP error "
                   "%d: \"%s\")",
                   x->ep, x->filename, code, msg);
}

/* Parses a decimal option value; -1 when it is not one. */
static long long
s_number(const char *s)
{
    char *end;
    long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    return (*end != '\0' || errno != 0) ? -1 : v;
}

static int
s_too_big(struct s_xfer *x, unsigned long long size)
{
    s_send_error(x, &x->peer, x->peerlen, S_E_DISKFULL, "file too large");
    return err_set(ERR_TOOBIG,
                   "tftp: \"%.100s\" from %s is %llu bytes or "
                   "more, over the limit of %zu",
                   x->filename, x->ep, size, x->max);
}

static int
s_oack_option(struct s_xfer *x, const char *name, const char *value)
{
    long long v = s_number(value);

    if (strcasecmp(name, "blksize") == 0 && x->ask_blksize > 0) {
        if (v < 8 || v > x->ask_blksize)
            return err_set(ERR_PROTO,
                           "tftp: %s answered blksize \"%.20s\" "
                           "to a request for %d",
                           x->ep, value, x->ask_blksize);
        x->blksize = (int)v;
        return ERR_OK;
    }
    if (strcasecmp(name, "tsize") == 0 && x->ask_tsize) {
        if (v < 0)
            return err_set(ERR_PROTO, "tftp: %s answered tsize \"%.20s\"",
                           x->ep, value);
        x->info.tsize = v;
        if ((unsigned long long)v > x->max)
            return s_too_big(x, (unsigned long long)v);
        return ERR_OK;
    }
    return err_set(ERR_PROTO,
                   "tftp: %s acknowledged option \"%.20s\" that "
                   "was not asked for",
                   x->ep, name);
}

static int
s_on_oack(struct s_xfer *x, const uint8_t *pkt, size_t n)
{
    const char *p = (const char *)pkt + 2, *end = (const char *)pkt + n;
    const char *name, *value;
    int rc;

    if (!x->options_sent || x->block != 0)
        return err_set(ERR_PROTO, "tftp: unexpected OACK from %s", x->ep);
    if (x->info.oack)
        return s_send_ack(x, 0); /* our ACK 0 was lost */
    if (n < 3 || pkt[n - 1] != '\0')
        return err_set(ERR_PROTO, "tftp: malformed OACK from %s", x->ep);
    x->blksize = 512;
    while (p < end) {
        name = p;
        p += strlen(p) + 1;
        if (p >= end)
            return err_set(ERR_PROTO,
                           "tftp: OACK from %s: option "
                           "\"%.20s\" has no value",
                           x->ep, name);
        value = p;
        p += strlen(p) + 1;
        rc = s_oack_option(x, name, value);
        if (rc != ERR_OK)
            return rc;
    }
    x->info.oack = 1;
    if (x->info.tsize >= 0 && (size_t)x->info.tsize + 1 > x->cap) {
        uint8_t *d = realloc(x->data, (size_t)x->info.tsize + 1);

        if (d == NULL)
            return err_set(ERR_NOMEM, "tftp: out of memory");
        x->data = d;
        x->cap = (size_t)x->info.tsize + 1;
    }
    return s_send_ack(x, 0);
}

static int
s_append(struct s_xfer *x, const uint8_t *p, size_t n)
{
    size_t cap;
    uint8_t *d;

    if (x->len + n > x->max)
        return s_too_big(x, (unsigned long long)(x->len + n));
    if (x->len + n + 1 > x->cap) {
        cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n + 1)
            cap *= 2;
        d = realloc(x->data, cap);
        if (d == NULL)
            return err_set(ERR_NOMEM, "tftp: out of memory");
        x->data = d;
        x->cap = cap;
    }
    memcpy(x->data + x->len, p, n);
    x->len += n;
    return ERR_OK;
}

/* Returns 1 when the last block came, 0 to go on, or an error. */
static int
s_on_data(struct s_xfer *x, const uint8_t *pkt, size_t n)
{
    uint16_t block;
    size_t dlen;
    int rc;

    if (n < 4)
        return err_set(ERR_PROTO, "tftp: short DATA packet from %s", x->ep);
    block = (uint16_t)(pkt[2] << 8 | pkt[3]);
    dlen = n - 4;
    if (x->block == 0 && !x->info.oack)
        x->blksize = 512; /* the server ignored our options */
    if (block != (uint16_t)(x->block + 1)) {
        /* Our ACK of that block was lost: say it again. */
        if (block == x->block && x->block != 0)
            return s_send_ack(x, block);
        return ERR_OK;
    }
    if (dlen > (size_t)x->blksize)
        return err_set(ERR_PROTO,
                       "tftp: block %u from %s has %zu bytes, "
                       "over the block size %d",
                       block, x->ep, dlen, x->blksize);
    rc = s_append(x, pkt + 4, dlen);
    if (rc != ERR_OK)
        return rc;
    x->block = block;
    rc = s_send_ack(x, block);
    if (rc != ERR_OK)
        return rc;
    return dlen < (size_t)x->blksize ? 1 : 0;
}

/*
 * Takes one packet from `from`. Returns 1 when the transfer is complete,
 * 0 to go on, or an error.
 */
static int
s_on_packet(struct s_xfer *x, size_t n, const struct sockaddr_storage *from,
            socklen_t fromlen)
{
    int op;

    if (x->have_peer ? !s_same_addr(from, &x->peer, 1)
                     : !s_same_addr(from, &x->srv, 0)) {
        x->info.strays++;
        s_send_error(x, from, fromlen, S_E_BADTID, "Unknown transfer ID");
        return 0;
    }
    if (!x->have_peer) {
        x->peer = *from;
        x->peerlen = fromlen;
        x->have_peer = 1;
    }
    op = n >= 2 ? (x->in[0] << 8 | x->in[1]) : -1;
    switch (op) {
    case S_OP_DATA:
        return s_on_data(x, x->in, n);
    case S_OP_OACK:
        return s_on_oack(x, x->in, n);
    case S_OP_ERROR:
        return s_on_error(x, x->in, n);
    }
    s_send_error(x, &x->peer, x->peerlen, S_E_ILLEGAL, "Illegal operation");
    return err_set(ERR_PROTO,
                   "tftp: %s sent a packet with opcode %d while "
                   "sending \"%.100s\"",
                   x->ep, op, x->filename);
}

static int
s_timeout(struct s_xfer *x)
{
    if (!x->have_peer)
        return err_set(ERR_TIMEOUT, "tftp: no answer from %s after %d ms",
                       x->ep, x->timeout_ms);
    return err_set(ERR_TIMEOUT,
                   "tftp: transfer of \"%.100s\" from %s did "
                   "not finish within %d ms (stalled after "
                   "block %u, %zu bytes)",
                   x->filename, x->ep, x->timeout_ms, x->block, x->len);
}

/* Receives until the transfer ends, fails or misses its deadline. */
static int
s_loop(struct s_xfer *x)
{
    struct pollfd pfd = {.fd = x->fd, .events = POLLIN};
    struct sockaddr_storage from;
    socklen_t fromlen;
    int64_t now, until;
    ssize_t n;
    int rc;

    for (;;) {
        now = s_now_ms();
        if (now >= x->deadline)
            return s_timeout(x);
        if (now >= x->next_retx) {
            x->info.retransmits++;
            rc = s_send_out(x);
            if (rc != ERR_OK)
                return rc;
            continue;
        }
        until = x->next_retx < x->deadline ? x->next_retx : x->deadline;
        rc = poll(&pfd, 1, (int)(until - now));
        if (rc < 0 && errno != EINTR)
            return err_set(ERR_NET, "tftp: poll: %s", strerror(errno));
        if (rc <= 0)
            continue;
        fromlen = sizeof(from);
        n = recvfrom(x->fd, x->in, S_MAX_PACKET, 0, (struct sockaddr *)&from,
                     &fromlen);
        if (n < 0)
            continue; /* EINTR, or an ICMP error reported late */
        rc = s_on_packet(x, (size_t)n, &from, fromlen);
        if (rc != 0)
            return rc;
    }
}

static int
s_check_args(const char *host, int port, const char *filename, int timeout_ms,
             const tftpc_opts_t *o, uint8_t **buf, size_t *len)
{
    if (host == NULL || host[0] == '\0' || filename == NULL || !buf || !len)
        return err_set(ERR_ARG, "tftp: host, file name and buffer needed");
    if (port < 0 || port > 65535)
        return err_set(ERR_ARG, "tftp: port %d out of range", port);
    if (filename[0] == '\0' || strlen(filename) > S_MAX_FILENAME)
        return err_set(ERR_ARG, "tftp: file name empty or over %d bytes",
                       S_MAX_FILENAME);
    if (timeout_ms <= 0)
        return err_set(ERR_ARG, "tftp: timeout %d ms must be positive",
                       timeout_ms);
    if (o->blksize != 0 && (o->blksize < 8 || o->blksize > S_MAX_BLKSIZE))
        return err_set(ERR_ARG, "tftp: blksize %d outside 8..%d", o->blksize,
                       S_MAX_BLKSIZE);
    return ERR_OK;
}

static int
s_retry_ms(const tftpc_opts_t *o, int timeout_ms)
{
    int r = o->retry_ms;

    if (r > 0)
        return r;
    r = timeout_ms / 5;
    return r < 100 ? 100 : r > 1000 ? 1000 : r;
}

int
tftpc_get_opts(const char *host, int port, const char *filename, size_t max,
               int timeout_ms, const tftpc_opts_t *opts, uint8_t **buf,
               size_t *len, tftpc_info_t *info)
{
    static const tftpc_opts_t defaults = {TFTPC_DEFAULT_BLKSIZE, 1, 0};
    struct s_xfer x = {.fd = -1, .blksize = 512};
    int rc;

    if (opts == NULL)
        opts = &defaults;
    rc = s_check_args(host, port, filename, timeout_ms, opts, buf, len);
    if (rc != ERR_OK)
        return rc;
    x.filename = filename;
    x.max = max;
    x.timeout_ms = timeout_ms;
    x.retry_ms = s_retry_ms(opts, timeout_ms);
    x.ask_blksize = opts->blksize;
    x.ask_tsize = opts->tsize;
    x.info.tsize = -1;
    x.deadline = s_now_ms() + timeout_ms;
    x.in = malloc(S_MAX_PACKET);
    if (x.in == NULL) {
        rc = err_set(ERR_NOMEM, "tftp: out of memory");
        goto out;
    }
    rc = s_open(&x, host, port ? port : 69);
    if (rc == ERR_OK)
        rc = s_send_rrq(&x);
    if (rc == ERR_OK)
        rc = s_loop(&x);
    if (rc == 1)
        rc = s_append(&x, (const uint8_t *)"", 0);
    if (rc == ERR_OK && x.data == NULL) {
        x.data = malloc(1);
        if (x.data == NULL)
            rc = err_set(ERR_NOMEM, "tftp: out of memory");
    }
out:
    if (x.fd >= 0)
        close(x.fd);
    free(x.in);
    x.info.blksize = x.blksize;
    if (info != NULL)
        *info = x.info;
    if (rc != ERR_OK) {
        free(x.data);
        return rc;
    }
    x.data[x.len] = '\0';
    *buf = x.data;
    *len = x.len;
    return ERR_OK;
}

int
tftpc_get(const char *host, int port, const char *filename, size_t max,
          int timeout_ms, uint8_t **buf, size_t *len)
{
    return tftpc_get_opts(host, port, filename, max, timeout_ms, NULL, buf, len,
                          NULL);
}
