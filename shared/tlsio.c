#include "tlsio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "prompt.h"

#define S_SLICE_MS 100

/*
 * Waits until fd is ready for events, the deadline passes or *stop is
 * set. Returns ERR_OK or ERR_TIMEOUT.
 */
static int
s_wait(int fd, short events, long long deadline, const int *stop,
       const char *peer, const char *what)
{
    for (;;) {
        long long left = deadline - time_mono_ms();
        struct pollfd p = {.fd = fd, .events = events};
        int n;

        if (stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED))
            return err_set(ERR_TIMEOUT, "%s: stopped while %s", peer, what);
        if (left <= 0)
            return err_set(ERR_TIMEOUT, "%s: timed out while %s", peer, what);
        n = poll(&p, 1, (int)(left < S_SLICE_MS ? left : S_SLICE_MS));
        if (n > 0)
            return ERR_OK;
        if (n < 0 && errno != EINTR)
            return err_set(ERR_NET, "%s: poll: %s", peer, strerror(errno));
    }
}

/*
 * Turns the result r of an SSL call into: 1 wait for reading, 2 wait for
 * writing, or an error code (detail set).
 */
static int
s_ssl_result(SSL *ssl, int r, const char *peer, const char *what)
{
    int e = SSL_get_error(ssl, r);

    switch (e) {
    case SSL_ERROR_WANT_READ:
        return 1;
    case SSL_ERROR_WANT_WRITE:
        return 2;
    case SSL_ERROR_ZERO_RETURN:
        return err_set(ERR_NET, "%s: the peer closed the connection while %s",
                       peer, what);
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return err_set(ERR_NET, "%s: connection lost while %s%s%s", peer, what,
                       errno ? ": " : "", errno ? strerror(errno) : "");
    default:
        /* A peer that closes without close_notify, as many do. */
        if (ERR_GET_REASON(ERR_peek_last_error()) ==
            SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            return err_set(ERR_NET,
                           "%s: the peer closed the connection while %s", peer,
                           what);
        }
        return err_set_ssl(ERR_PROTO, "%s: TLS failed while %s", peer, what);
    }
}

int
tlsio_handshake(SSL *ssl, int fd, int accept, long long deadline,
                const int *stop, const char *peer)
{
    const char *what = "in the TLS handshake";

    for (;;) {
        int r, w;

        ERR_clear_error();
        errno = 0;
        r = accept ? SSL_accept(ssl) : SSL_connect(ssl);
        if (r == 1)
            return ERR_OK;
        w = s_ssl_result(ssl, r, peer, what);
        if (w < 0)
            return w;
        w = s_wait(fd, w == 1 ? POLLIN : POLLOUT, deadline, stop, peer, what);
        if (w != ERR_OK)
            return w;
    }
}

int
tlsio_read(SSL *ssl, int fd, uint8_t *buf, size_t n, long long deadline,
           const int *stop, const char *peer)
{
    size_t got = 0;
    char what[96];

    while (got < n) {
        size_t k = 0;
        int r, w;

        snprintf(what, sizeof(what), "reading (%zu of %zu bytes came)", got, n);
        ERR_clear_error();
        errno = 0;
        r = SSL_read_ex(ssl, buf + got, n - got, &k);
        if (r == 1) {
            got += k;
            continue;
        }
        w = s_ssl_result(ssl, r, peer, what);
        if (w < 0)
            return (w == ERR_NET && got == 0) ? ERR_NOTFOUND : w;
        w = s_wait(fd, w == 1 ? POLLIN : POLLOUT, deadline, stop, peer, what);
        if (w != ERR_OK)
            return w;
    }
    return ERR_OK;
}

int
tlsio_write(SSL *ssl, int fd, const uint8_t *buf, size_t n, long long deadline,
            const int *stop, const char *peer)
{
    size_t put = 0;

    while (put < n) {
        size_t k = 0;
        int r, w;

        ERR_clear_error();
        errno = 0;
        r = SSL_write_ex(ssl, buf + put, n - put, &k);
        if (r == 1) {
            put += k;
            continue;
        }
        w = s_ssl_result(ssl, r, peer, "writing");
        if (w < 0)
            return w;
        w = s_wait(fd, w == 1 ? POLLIN : POLLOUT, deadline, stop, peer,
                   "writing");
        if (w != ERR_OK)
            return w;
    }
    return ERR_OK;
}

/* Connects one address; returns the socket or -1 (detail set). */
static int
s_connect_one(const struct addrinfo *ai, long long deadline, const char *peer)
{
    int fd, err = 0;
    socklen_t elen = sizeof(err);

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
        err_set(ERR_NET, "%s: socket: %s", peer, strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        err_set(ERR_NET, "%s: connect: %s", peer, strerror(errno));
        close(fd);
        return -1;
    }
    if (s_wait(fd, POLLOUT, deadline, NULL, peer, "connecting") != ERR_OK) {
        close(fd);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
        err_set(ERR_NET, "%s: connect: %s", peer, strerror(err ? err : errno));
        close(fd);
        return -1;
    }
    return fd;
}

int
tlsio_connect(const char *host, int port, long long deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char service[16], peer[300];
    int fd = -1, rc;

    snprintf(service, sizeof(service), "%d", port);
    snprintf(peer, sizeof(peer),
             strchr(host, ':') ? "[%.250s]:%d" : "%.250s:%d", host, port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        err_set(ERR_ARG, "%s: cannot resolve the host: %s", peer,
                gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = s_connect_one(ai, deadline, peer);
    freeaddrinfo(res);
    return fd;
}

void
tlsio_sigpipe_block(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void
tlsio_sigpipe_restore(const sigset_t *old)
{
    sigset_t pending, set;
    struct timespec zero = {0, 0};

    if (!sigismember(old, SIGPIPE) && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE)) {
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        (void)sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}
