/*
 * tftpd: a real in.tftpd supervised on 127.0.0.1, fetched with tftpc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "tftpc.h"
#include "tftpd.h"

static char s_dir[512], s_dir2[600];

static int
s_setup(void **state)
{
    const char *tmp = getenv("ITL_TMP") ? getenv("ITL_TMP") : "/tmp";
    char path[700];

    (void)state;
    log_init("test_tftpd", 0, LOG_LEVEL_WARNING);
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    if (fs_mkdir_p(tmp, 0755) != ERR_OK)
        return -1;
    snprintf(s_dir, sizeof(s_dir), "%s/tftpd.XXXXXX", tmp);
    if (mkdtemp(s_dir) == NULL || chmod(s_dir, 0755) < 0)
        return -1;
    snprintf(s_dir2, sizeof(s_dir2), "%s/second", s_dir);
    if (fs_mkdir_p(s_dir2, 0755) != ERR_OK)
        return -1;
    snprintf(path, sizeof(path), "%s/ITLFile.tlv", s_dir);
    if (fs_write_durable(path, "first folder\n", 13, 0644, 0) != ERR_OK)
        return -1;
    snprintf(path, sizeof(path), "%s/ITLFile.tlv", s_dir2);
    if (fs_write_durable(path, "second\n", 7, 0644, 0) != ERR_OK)
        return -1;
    return 0;
}

static int
s_teardown(void **state)
{
    char cmd[600];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Starts a server for n folders on a random free port; returns it. */
static tftpd_t *
s_start(size_t n, int *port)
{
    const char *folders[2] = {s_dir, s_dir2};
    tftpd_t *t = NULL;
    int rc = ERR_NET;

    for (int tries = 0; tries < 20 && rc == ERR_NET; tries++) {
        *port = 20000 + rand() % 40000;
        t = tftpd_new(NULL, "127.0.0.1", *port, folders, n, NULL);
        assert_non_null(t);
        rc = tftpd_start(t);
        if (rc != ERR_OK)
            tftpd_destroy(&t);
    }
    if (rc != ERR_OK)
        fail_msg("cannot start in.tftpd: %s", err_detail());
    return t;
}

static void
s_expect_file(int port, const char *want)
{
    uint8_t *buf;
    size_t len;

    assert_int_equal(
        tftpc_get("127.0.0.1", port, "ITLFile.tlv", 65536, 2000, &buf, &len),
        ERR_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    free(buf);
}

static void
test_start_get_restart_stop(void **state)
{
    int port;
    tftpd_t *t = s_start(1, &port);
    pid_t old, new;
    uint8_t *buf = NULL;
    size_t len;

    (void)state;
    assert_int_equal(tftpd_mode(t), TFTPD_MODE_SUPERVISE);
    assert_true(tftpd_running(t));
    old = tftpd_pid(t);
    assert_true(old > 0);
    s_expect_file(port, "first folder\n");
    assert_int_equal(tftpd_check(t), 0);

    assert_int_equal(tftpd_restart(t), ERR_OK);
    new = tftpd_pid(t);
    assert_true(new > 0);
    assert_true(new != old);
    assert_int_equal(kill(old, 0), -1);
    assert_int_equal(errno, ESRCH);
    s_expect_file(port, "first folder\n");

    /* Starting twice is a caller's error, not a second server. */
    assert_int_equal(tftpd_start(t), ERR_ARG);
    assert_int_equal(tftpd_pid(t), new);

    assert_int_equal(tftpd_stop(t), ERR_OK);
    assert_false(tftpd_running(t));
    assert_int_equal(tftpd_pid(t), 0);
    assert_int_equal(kill(new, 0), -1);
    assert_int_equal(
        tftpc_get("127.0.0.1", port, "ITLFile.tlv", 65536, 500, &buf, &len),
        ERR_TIMEOUT);
    assert_int_equal(tftpd_stop(t), ERR_OK);
    tftpd_destroy(&t);
    assert_null(t);
}

static void
test_port_in_use(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    const char *folders[1] = {s_dir};
    int fd = socket(AF_INET, SOCK_DGRAM, 0), port;
    tftpd_t *t;
    char want[700];

    (void)state;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);

    t = tftpd_new(NULL, "127.0.0.1", port, folders, 1, NULL);
    assert_non_null(t);
    assert_int_equal(tftpd_start(t), ERR_NET);
    snprintf(want, sizeof(want),
             "tftpd: in.tftpd for %s cannot listen on 127.0.0.1:%d: the "
             "port is already in use",
             s_dir, port);
    assert_string_equal(err_detail(), want);
    assert_false(tftpd_running(t));
    assert_int_equal(tftpd_pid(t), 0);
    tftpd_destroy(&t);
    close(fd);
}

static void
test_two_folders_two_ports(void **state)
{
    int port;
    tftpd_t *t = s_start(2, &port);

    (void)state;
    assert_int_equal(tftpd_count(t), 2);
    assert_int_equal(tftpd_port_of(t, 1), port + 1);
    assert_true(tftpd_pid_of(t, 1) > 0);
    assert_true(tftpd_pid_of(t, 1) != tftpd_pid_of(t, 0));
    s_expect_file(port, "first folder\n");
    s_expect_file(port + 1, "second\n");
    tftpd_destroy(&t);
}

static void
test_check_reports_death(void **state)
{
    int port;
    tftpd_t *t = s_start(1, &port);
    pid_t pid = tftpd_pid(t);
    char want[700];

    (void)state;
    assert_int_equal(kill(pid, SIGKILL), 0);
    /* Give the kernel a moment to turn it into a zombie. */
    for (int i = 0; i < 100 && tftpd_check(t) == 0; i++)
        usleep(10000);
    snprintf(want, sizeof(want),
             "tftpd: in.tftpd pid %d for %s on 127.0.0.1:%d was killed by "
             "signal 9",
             (int)pid, s_dir, port);
    assert_string_equal(err_detail(), want);
    assert_int_equal(tftpd_pid(t), 0);
    assert_false(tftpd_running(t));
    assert_int_equal(tftpd_check(t), 0);

    /* The agent's answer: start it again. */
    assert_int_equal(tftpd_start(t), ERR_OK);
    s_expect_file(port, "first folder\n");
    tftpd_destroy(&t);
}

static void
test_bad_arguments(void **state)
{
    const char *rel[1] = {"tftpboot"};
    const char *ok[1] = {s_dir};
    const char *missing[1] = {"/nonexistent/tftp"};
    tftpd_t *t;

    (void)state;
    assert_null(tftpd_new(NULL, "127.0.0.1", 6969, rel, 1, NULL));
    assert_string_equal(err_detail(), "tftpd: folder 0 (\"tftpboot\") is "
                                      "not an absolute path");
    assert_null(tftpd_new(NULL, "localhost", 6969, ok, 1, NULL));
    assert_string_equal(err_detail(), "tftpd: address \"localhost\" is not "
                                      "a numeric IPv4 or IPv6 address");
    assert_null(tftpd_new(NULL, "127.0.0.1", 65535, rel, 0, NULL));
    assert_string_equal(err_detail(), "tftpd: no folder to serve");
    assert_null(tftpd_new(NULL, "127.0.0.1", 0, ok, 1, NULL));

    t = tftpd_new("/nonexistent/in.tftpd", "127.0.0.1", 6969, ok, 1, NULL);
    assert_non_null(t);
    assert_int_equal(tftpd_start(t), ERR_NOTFOUND);
    assert_string_equal(err_detail(), "tftpd: cannot execute "
                                      "/nonexistent/in.tftpd: No such file "
                                      "or directory");
    tftpd_destroy(&t);

    t = tftpd_new(NULL, "127.0.0.1", 6969, missing, 1, NULL);
    assert_non_null(t);
    assert_int_equal(tftpd_start(t), ERR_NOTFOUND);
    assert_string_equal(err_detail(), "tftpd: TFTP folder /nonexistent/tftp: "
                                      "No such file or directory");
    tftpd_destroy(&t);
}

static void
test_command_mode(void **state)
{
    const char *ok[1] = {s_dir};
    tftpd_t *t = tftpd_new(NULL, "127.0.0.1", 6969, ok, 1, NULL);
    char cmd[800], path[700];
    uint8_t *buf;
    size_t len;

    (void)state;
    snprintf(path, sizeof(path), "%s/restarts", s_dir);
    snprintf(cmd, sizeof(cmd), "echo restarted >> '%s'", path);
    assert_int_equal(tftpd_set_restart_command(t, cmd), ERR_OK);
    assert_int_equal(tftpd_mode(t), TFTPD_MODE_COMMAND);
    assert_false(tftpd_running(t));
    assert_int_equal(tftpd_start(t), ERR_OK);
    assert_int_equal(tftpd_restart(t), ERR_OK);
    assert_true(tftpd_running(t));
    assert_int_equal(tftpd_stop(t), ERR_OK);
    assert_int_equal(tftpd_pid(t), 0);
    assert_int_equal(fs_read_file(path, 100, &buf, &len), ERR_OK);
    assert_string_equal((char *)buf, "restarted\nrestarted\n");
    free(buf);

    assert_int_equal(tftpd_set_restart_command(t, "exit 3"), ERR_OK);
    assert_int_equal(tftpd_restart(t), ERR_IO);
    assert_string_equal(err_detail(), "tftpd: restart command \"exit 3\" "
                                      "failed (exit status 3)");
    assert_false(tftpd_running(t));

    tftpd_set_deadlines(t, 0, 0, 200);
    assert_int_equal(tftpd_set_restart_command(t, "sleep 5"), ERR_OK);
    assert_int_equal(tftpd_restart(t), ERR_TIMEOUT);
    assert_string_equal(err_detail(), "tftpd: restart command \"sleep 5\" "
                                      "did not finish within 200 ms");
    assert_int_equal(tftpd_set_restart_command(t, ""), ERR_ARG);
    tftpd_destroy(&t);
}

static void
test_noop_mode(void **state)
{
    const char *ok[1] = {s_dir};
    tftpd_t *t = tftpd_new("/nonexistent", "127.0.0.1", 6969, ok, 1, NULL);

    (void)state;
    tftpd_set_noop(t);
    assert_int_equal(tftpd_mode(t), TFTPD_MODE_NONE);
    assert_int_equal(tftpd_start(t), ERR_OK);
    assert_int_equal(tftpd_restart(t), ERR_OK);
    assert_true(tftpd_running(t));
    assert_int_equal(tftpd_pid(t), 0);
    assert_int_equal(tftpd_check(t), 0);
    assert_int_equal(tftpd_stop(t), ERR_OK);
    tftpd_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_get_restart_stop),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_two_folders_two_ports),
        cmocka_unit_test(test_check_reports_death),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_command_mode),
        cmocka_unit_test(test_noop_mode),
    };

    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
