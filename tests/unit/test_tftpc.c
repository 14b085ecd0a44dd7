/*
 * tftpc against a real in.tftpd on 127.0.0.1 (started with tftpd.c), and
 * against small scripted servers for what in.tftpd never does (stray
 * packets, refusing options).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "fsutil.h"
#include "log.h"
#include "tftpc.h"
#include "tftpd.h"

static const size_t s_sizes[] = {0, 511, 512, 513, 1024, 1428, 2856, 60000};
#define S_NSIZES (sizeof(s_sizes) / sizeof(s_sizes[0]))

static char s_dir[512];
static tftpd_t *s_server;
static int s_port;
static uint8_t *s_content[S_NSIZES];

static int64_t
s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_sha1_hex(const uint8_t *p, size_t n, char out[41])
{
    uint8_t md[SHA_DIGEST_LENGTH];

    SHA1(p, n, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* Bytes that differ from block to block, so a lost block shows. */
static uint8_t *
s_make_content(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n + 1);
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static int
s_setup(void **state)
{
    const char *tmp = getenv("ITL_TMP") ? getenv("ITL_TMP") : "/tmp";
    const char *folders[1];
    char path[600];
    int rc = ERR_NET;

    (void)state;
    log_init("test_tftpc", 0, LOG_LEVEL_WARNING);
    if (fs_mkdir_p(tmp, 0755) != ERR_OK)
        return -1;
    snprintf(s_dir, sizeof(s_dir), "%s/tftpc.XXXXXX", tmp);
    if (mkdtemp(s_dir) == NULL || chmod(s_dir, 0755) < 0)
        return -1;
    for (size_t i = 0; i < S_NSIZES; i++) {
        s_content[i] = s_make_content(s_sizes[i], (unsigned)i);
        snprintf(path, sizeof(path), "%s/f%zu.bin", s_dir, s_sizes[i]);
        if (fs_write_durable(path, s_content[i], s_sizes[i], 0644, 0) != 0)
            return -1;
    }
    folders[0] = s_dir;
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (int tries = 0; tries < 20 && rc == ERR_NET; tries++) {
        s_port = 20000 + rand() % 40000;
        s_server = tftpd_new(NULL, "127.0.0.1", s_port, folders, 1, NULL);
        if (s_server == NULL)
            return -1;
        rc = tftpd_start(s_server);
        if (rc != ERR_OK)
            tftpd_destroy(&s_server);
    }
    if (rc != ERR_OK)
        fprintf(stderr, "cannot start in.tftpd: %s\n", err_detail());
    return rc == ERR_OK ? 0 : -1;
}

static int
s_teardown(void **state)
{
    char cmd[600];

    (void)state;
    tftpd_destroy(&s_server);
    for (size_t i = 0; i < S_NSIZES; i++)
        free(s_content[i]);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Fetches every file with opts and checks size, SHA-1 and negotiation. */
static void
s_fetch_all(const tftpc_opts_t *opts, int want_blksize, int want_oack)
{
    char name[64], got[41], want[41];
    uint8_t *buf;
    size_t len;
    tftpc_info_t info;

    for (size_t i = 0; i < S_NSIZES; i++) {
        snprintf(name, sizeof(name), "f%zu.bin", s_sizes[i]);
        assert_int_equal(tftpc_get_opts("127.0.0.1", s_port, name, 65536, 5000,
                                        opts, &buf, &len, &info),
                         ERR_OK);
        assert_int_equal(len, s_sizes[i]);
        assert_int_equal(buf[len], 0);
        s_sha1_hex(buf, len, got);
        s_sha1_hex(s_content[i], s_sizes[i], want);
        assert_string_equal(got, want);
        if (len > 0)
            assert_memory_equal(buf, s_content[i], len);
        assert_int_equal(info.blksize, want_blksize);
        assert_int_equal(info.oack, want_oack);
        assert_int_equal(info.retransmits, 0);
        if (opts == NULL || opts->tsize)
            assert_int_equal(info.tsize, (long long)s_sizes[i]);
        else
            assert_int_equal(info.tsize, -1);
        free(buf);
    }
}

static void
test_default_options(void **state)
{
    (void)state;
    s_fetch_all(NULL, TFTPC_DEFAULT_BLKSIZE, 1);
}

static void
test_no_options(void **state)
{
    tftpc_opts_t o = {0, 0, 0};

    (void)state;
    s_fetch_all(&o, 512, 0);
}

static void
test_blksize_512_option(void **state)
{
    tftpc_opts_t o = {512, 0, 0};

    (void)state;
    s_fetch_all(&o, 512, 1);
}

static void
test_blksize_only_1024(void **state)
{
    tftpc_opts_t o = {1024, 0, 0};

    (void)state;
    s_fetch_all(&o, 1024, 1);
}

static void
test_sha1_of_60000(void **state)
{
    uint8_t *buf;
    size_t len;
    char got[41], want[41];

    (void)state;
    assert_int_equal(
        tftpc_get("127.0.0.1", s_port, "f60000.bin", 60000, 5000, &buf, &len),
        ERR_OK);
    assert_int_equal(len, 60000);
    s_sha1_hex(buf, len, got);
    s_sha1_hex(s_content[S_NSIZES - 1], 60000, want);
    assert_string_equal(got, want);
    free(buf);
}

static void
test_missing_file(void **state)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char want[200];

    (void)state;
    assert_int_equal(
        tftpc_get("127.0.0.1", s_port, "ITLFile.tlv", 65536, 2000, &buf, &len),
        ERR_NOTFOUND);
    snprintf(want, sizeof(want),
             "tftp: 127.0.0.1:%d has no file \"ITLFile.tlv\" (TFTP error "
             "1: \"File not found\")",
             s_port);
    assert_string_equal(err_detail(), want);
    assert_null(buf);
}

static void
test_unreadable_file(void **state)
{
    char path[600], want[200];
    uint8_t *buf = NULL;
    size_t len;

    (void)state;
    snprintf(path, sizeof(path), "%s/private.bin", s_dir);
    assert_int_equal(fs_write_durable(path, "secret", 6, 0600, 0), ERR_OK);
    assert_int_equal(
        tftpc_get("127.0.0.1", s_port, "private.bin", 65536, 2000, &buf, &len),
        ERR_REFUSED);
    snprintf(want, sizeof(want),
             "tftp: 127.0.0.1:%d refused \"private.bin\" (TFTP error 0: "
             "\"Permission denied\")",
             s_port);
    assert_string_equal(err_detail(), want);
}

static void
test_too_big(void **state)
{
    tftpc_opts_t plain = {0, 0, 0};
    uint8_t *buf = NULL;
    size_t len;
    char want[200];

    (void)state;
    /* Announced by tsize: refused before any data. */
    assert_int_equal(
        tftpc_get("127.0.0.1", s_port, "f60000.bin", 59999, 2000, &buf, &len),
        ERR_TOOBIG);
    snprintf(want, sizeof(want),
             "tftp: \"f60000.bin\" from 127.0.0.1:%d is 60000 bytes or "
             "more, over the limit of 59999",
             s_port);
    assert_string_equal(err_detail(), want);

    /* Without tsize: refused at the block that crosses the limit. */
    assert_int_equal(tftpc_get_opts("127.0.0.1", s_port, "f60000.bin", 1000,
                                    2000, &plain, &buf, &len, NULL),
                     ERR_TOOBIG);
    snprintf(want, sizeof(want),
             "tftp: \"f60000.bin\" from 127.0.0.1:%d is 1024 bytes or "
             "more, over the limit of 1000",
             s_port);
    assert_string_equal(err_detail(), want);
    assert_null(buf);

    /* Exactly at the limit is fine. */
    assert_int_equal(
        tftpc_get("127.0.0.1", s_port, "f1024.bin", 1024, 2000, &buf, &len),
        ERR_OK);
    assert_int_equal(len, 1024);
    free(buf);
}

/* A UDP socket on 127.0.0.1 with a kernel-chosen port. */
static int
s_udp_socket(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int
s_pending(int fd)
{
    uint8_t pkt[600];
    int n = 0;

    while (recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT) > 0)
        n++;
    return n;
}

static void
test_silent_server_bounded(void **state)
{
    int port, fd = s_udp_socket(&port);
    uint8_t *buf = NULL;
    size_t len;
    int64_t t0, elapsed;
    char want[120];

    (void)state;
    t0 = s_now_ms();
    assert_int_equal(
        tftpc_get("127.0.0.1", port, "ITLFile.tlv", 65536, 1000, &buf, &len),
        ERR_TIMEOUT);
    elapsed = s_now_ms() - t0;
    assert_true(elapsed >= 1000 && elapsed < 1300);
    snprintf(want, sizeof(want),
             "tftp: no answer from 127.0.0.1:%d after 1000 ms", port);
    assert_string_equal(err_detail(), want);
    /* The RRQ plus four retransmissions, one every 200 ms. */
    assert_int_equal(s_pending(fd), 5);
    close(fd);
    assert_null(buf);
}

static void
test_no_server_bounded(void **state)
{
    int port, fd = s_udp_socket(&port);
    uint8_t *buf = NULL;
    size_t len;
    int64_t t0;

    (void)state;
    close(fd); /* nothing listens there now: ICMP errors are ignored */
    t0 = s_now_ms();
    assert_int_equal(
        tftpc_get("127.0.0.1", port, "ITLFile.tlv", 65536, 1000, &buf, &len),
        ERR_TIMEOUT);
    assert_true(s_now_ms() - t0 < 1300);
}

/* A scripted server: what it does is chosen by s_script. */
struct s_fake {
    int main_fd, tid_fd, stray_fd;
    int script;
    int stray_error_code;
    int second_rrq_had_options;
};

static void
s_sendto(int fd, const void *p, size_t n, const struct sockaddr_in *to)
{
    assert_true(sendto(fd, p, n, 0, (const struct sockaddr *)to, sizeof(*to)) ==
                (ssize_t)n);
}

static ssize_t
s_recv(int fd, uint8_t *p, size_t n, struct sockaddr_in *from)
{
    socklen_t flen = sizeof(*from);

    return recvfrom(fd, p, n, 0, (struct sockaddr *)from, &flen);
}

static void *
s_fake_run(void *arg)
{
    struct s_fake *f = arg;
    struct sockaddr_in client;
    uint8_t in[600], data[4 + 512];
    ssize_t n;

    n = s_recv(f->main_fd, in, sizeof(in), &client);
    if (f->script == 1) {
        /* Refuse the options, then serve the plain request. */
        static const uint8_t err8[] = {0, 5, 0, 8, 'n', 'o', 0};

        s_sendto(f->tid_fd, err8, sizeof(err8), &client);
        n = s_recv(f->main_fd, in, sizeof(in), &client);
        f->second_rrq_had_options = memmem(in, (size_t)n, "blksize", 7) != 0;
    }
    /* Ignore options: DATA 1 of 512 'A', a stray DATA 2, then DATA 2. */
    data[0] = 0, data[1] = 3, data[2] = 0, data[3] = 1;
    memset(data + 4, 'A', 512);
    s_sendto(f->tid_fd, data, sizeof(data), &client);
    n = s_recv(f->tid_fd, in, sizeof(in), &client); /* ACK 1 */
    data[3] = 2;
    memset(data + 4, 'X', 10);
    s_sendto(f->stray_fd, data, 14, &client);
    n = s_recv(f->stray_fd, in, sizeof(in), &client);
    f->stray_error_code = n >= 4 && in[1] == 5 ? in[3] : -1;
    memset(data + 4, 'B', 10);
    s_sendto(f->tid_fd, data, 14, &client);
    n = s_recv(f->tid_fd, in, sizeof(in), &client); /* ACK 2 */
    return NULL;
}

static void
s_run_fake(int script)
{
    struct s_fake f = {0};
    pthread_t th;
    int port, p1, p2;
    uint8_t *buf;
    size_t len;
    tftpc_info_t info;
    uint8_t want[522];

    f.script = script;
    f.main_fd = s_udp_socket(&port);
    f.tid_fd = s_udp_socket(&p1);
    f.stray_fd = s_udp_socket(&p2);
    assert_int_equal(pthread_create(&th, NULL, s_fake_run, &f), 0);
    assert_int_equal(tftpc_get_opts("127.0.0.1", port, "ITLFile.tlv", 65536,
                                    3000, NULL, &buf, &len, &info),
                     ERR_OK);
    pthread_join(th, NULL);
    memset(want, 'A', 512);
    memset(want + 512, 'B', 10);
    assert_int_equal(len, 522);
    assert_memory_equal(buf, want, 522);
    assert_int_equal(info.blksize, 512);
    assert_int_equal(info.oack, 0);
    assert_int_equal(info.strays, 1);
    assert_int_equal(f.stray_error_code, 5);
    if (script == 1)
        assert_int_equal(f.second_rrq_had_options, 0);
    free(buf);
    close(f.main_fd);
    close(f.tid_fd);
    close(f.stray_fd);
}

static void
test_server_ignores_options_and_stray(void **state)
{
    (void)state;
    s_run_fake(0);
}

static void
test_server_refuses_options(void **state)
{
    (void)state;
    s_run_fake(1);
}

static void
test_bad_args(void **state)
{
    uint8_t *buf;
    size_t len;
    tftpc_opts_t o = {7, 0, 0};

    (void)state;
    assert_int_equal(tftpc_get("127.0.0.1", 70000, "x", 1, 100, &buf, &len),
                     ERR_ARG);
    assert_int_equal(tftpc_get("127.0.0.1", 69, "", 1, 100, &buf, &len),
                     ERR_ARG);
    assert_int_equal(tftpc_get("127.0.0.1", 69, "x", 1, 0, &buf, &len),
                     ERR_ARG);
    assert_int_equal(
        tftpc_get_opts("127.0.0.1", 69, "x", 1, 100, &o, &buf, &len, NULL),
        ERR_ARG);
    assert_string_equal(err_detail(), "tftp: blksize 7 outside 8..65464");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_options),
        cmocka_unit_test(test_no_options),
        cmocka_unit_test(test_blksize_512_option),
        cmocka_unit_test(test_blksize_only_1024),
        cmocka_unit_test(test_sha1_of_60000),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_silent_server_bounded),
        cmocka_unit_test(test_no_server_bounded),
        cmocka_unit_test(test_server_ignores_options_and_stray),
        cmocka_unit_test(test_server_refuses_options),
        cmocka_unit_test(test_bad_args),
    };

    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
