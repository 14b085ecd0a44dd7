/* Unit tests of sftpc that need no SSH server: targets, arguments, and
 * the errors of a closed port and of a server that never speaks. The
 * transfers themselves are tested against sshd in tests/integration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "sftpc.h"

static void
test_parse_target(void **unused)
{
    char host[64];
    int port;

    (void)unused;
    assert_int_equal(
        sftpc_parse_target("backup.lab", host, sizeof(host), &port), ERR_OK);
    assert_string_equal(host, "backup.lab");
    assert_int_equal(port, 22);
    assert_int_equal(
        sftpc_parse_target("10.0.0.5:2222", host, sizeof(host), &port), ERR_OK);
    assert_string_equal(host, "10.0.0.5");
    assert_int_equal(port, 2222);
    assert_int_equal(
        sftpc_parse_target("[::1]:2200", host, sizeof(host), &port), ERR_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 2200);
    assert_int_equal(sftpc_parse_target("fe80::1", host, sizeof(host), &port),
                     ERR_OK);
    assert_string_equal(host, "fe80::1");
    assert_int_equal(port, 22);
    assert_int_equal(sftpc_parse_target("h:0", host, sizeof(host), &port),
                     ERR_ARG);
    assert_string_equal(err_detail(), "'h:0': the port must be 1 to 65535");
    assert_int_equal(sftpc_parse_target("h:65536", host, sizeof(host), &port),
                     ERR_ARG);
    assert_int_equal(sftpc_parse_target(":22", host, sizeof(host), &port),
                     ERR_ARG);
    assert_int_equal(sftpc_parse_target("", host, sizeof(host), &port),
                     ERR_ARG);
    assert_int_equal(sftpc_parse_target("h:22x", host, sizeof(host), &port),
                     ERR_ARG);
}

/* A listening socket on 127.0.0.1; its port in *port. */
static int
s_listen(int *port)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void
test_refused(void **unused)
{
    sftpc_opts_t o = {"127.0.0.1", 0, "u",  "p", "/nonexistent/kh",
                      0,           2, NULL, NULL};
    uint8_t *buf = NULL;
    size_t len = 99;
    char want[128];
    int fd = s_listen(&o.port);

    (void)unused;
    close(fd); /* nothing listens there any more */
    assert_int_equal(sftpc_download(&o, "d", 100, &buf, &len, NULL, 0),
                     ERR_NET);
    assert_null(buf);
    assert_int_equal(len, 0);
    snprintf(want, sizeof(want),
             "SFTP server 127.0.0.1:%d: failed while "
             "connecting: ",
             o.port);
    assert_memory_equal(err_detail(), want, strlen(want));
    assert_non_null(strstr(err_detail(), "onnection refused"));
}

/* The kernel accepts the connection; nobody ever speaks. */
static void
test_silent(void **unused)
{
    sftpc_opts_t o = {"127.0.0.1", 0, "u",  "p", "/nonexistent/kh",
                      0,           1, NULL, NULL};
    uint8_t *buf = NULL;
    size_t len = 0, sent = 7;
    char want[128];
    int fd = s_listen(&o.port);
    time_t start = time(NULL);

    (void)unused;
    assert_int_equal(sftpc_upload(&o, "d", SFTPC_KEY_FILE, (const uint8_t *)"x",
                                  1, &sent, NULL, 0),
                     ERR_TIMEOUT);
    assert_int_equal(sent, 0);
    snprintf(want, sizeof(want),
             "the SFTP server 127.0.0.1:%d did not "
             "answer within 1 s while connecting",
             o.port);
    assert_string_equal(err_detail(), want);
    assert_true(time(NULL) - start <= 4);
    assert_int_equal(sftpc_download(&o, "d", 100, &buf, &len, NULL, 0),
                     ERR_TIMEOUT);
    close(fd);
}

static void
test_arguments(void **unused)
{
    sftpc_opts_t o = {"127.0.0.1", 22, "u", NULL, "/kh", 0, 1, NULL, NULL};
    uint8_t *buf = NULL;
    size_t len = 0;

    (void)unused;
    assert_int_equal(sftpc_download(&o, "d", 100, &buf, &len, NULL, 0),
                     ERR_ARG);
    assert_string_equal(err_detail(), "SFTP: host, user, password and "
                                      "known-hosts file are all needed");
    o.password = "p";
    assert_int_equal(sftpc_download(&o, "", 100, &buf, &len, NULL, 0), ERR_ARG);
    assert_int_equal(
        sftpc_upload(&o, "", "f", (const uint8_t *)"x", 1, NULL, NULL, 0),
        ERR_ARG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_target),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_silent),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
