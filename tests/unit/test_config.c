/*
 * Unit tests of config: every case of tests/data/config/index is a file and
 * the exact error it must give (or OK), plus the values of the good files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "itl.h"

static const char *
s_dir(void)
{
    const char *d = getenv("ITL_TESTDATA");

    assert_non_null(d);
    return d;
}

static void
s_expand(const char *tmpl, const char *path, char *out, size_t len)
{
    const char *at = strstr(tmpl, "{path}");

    if (at == NULL) {
        snprintf(out, len, "%s", tmpl);
        return;
    }
    snprintf(out, len, "%.*s%s%s", (int)(at - tmpl), tmpl, path, at + 6);
}

static void
test_cases(void **state)
{
    char index[600], line[1024], path[600], want[2048];
    FILE *f;
    int n = 0;
    config_t c;

    (void)state;
    snprintf(index, sizeof(index), "%s/config/index", s_dir());
    f = fopen(index, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char *bar = strchr(line, '|');
        int rc;

        if (line[0] == '#' || bar == NULL)
            continue;
        *bar = '\0';
        line[strcspn(line, "\n")] = '\0';
        bar[1 + strcspn(bar + 1, "\n")] = '\0';
        snprintf(path, sizeof(path), "%.300s/config/%.200s", s_dir(), line);
        s_expand(bar + 1, path, want, sizeof(want));
        rc = config_load(path, CONFIG_PUBLISHER, &c);
        if (strcmp(want, "OK") == 0) {
            if (rc != ERR_OK)
                fail_msg("%s: %s", line, err_detail());
        } else {
            assert_int_equal(rc, ERR_ARG);
            assert_string_equal(err_detail(), want);
        }
        n++;
    }
    fclose(f);
    assert_int_equal(n, 22);
}

static void
test_values(void **state)
{
    char path[600];
    config_t c;

    (void)state;
    snprintf(path, sizeof(path), "%s/config/good-subscriber.conf", s_dir());
    assert_int_equal(config_load(path, CONFIG_PUBLISHER, &c), ERR_OK);
    assert_int_equal(c.role, CONFIG_SUBSCRIBER);
    assert_string_equal(c.hostname, "sub1");
    assert_string_equal(c.publisher, "10.0.0.1:7400");
    assert_string_equal(c.publisher_key,
                        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    assert_int_equal(c.ntftp_folders, 2);
    assert_string_equal(c.tftp_folders[1], "/srv/b");
    assert_int_equal(c.digest, ITL_DIGEST_SHA512);
    assert_int_equal(c.tftp_port, 69);
    assert_int_equal(c.heartbeat_ms, 1000);

    snprintf(path, sizeof(path), "%s/config/good-publisher.conf", s_dir());
    assert_int_equal(config_load(path, CONFIG_SUBSCRIBER, &c), ERR_OK);
    assert_int_equal(c.role, CONFIG_PUBLISHER);
    assert_int_equal(c.ntftp_folders, 1);
    assert_string_equal(c.tftp_folders[0], "/var/lib/x/tftp");
    assert_int_equal(config_load("/nonexistent/x.conf", CONFIG_PUBLISHER, &c),
                     ERR_NOTFOUND);
    assert_string_equal(err_detail(),
                        "cannot read configuration "
                        "/nonexistent/x.conf: No such file or directory");
}

static void
test_endpoint(void **state)
{
    char host[64];
    int port;

    (void)state;
    assert_int_equal(
        config_split_endpoint("127.0.0.1:7400", host, sizeof(host), &port),
        ERR_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 7400);
    assert_int_equal(
        config_split_endpoint("127.0.0.1", host, sizeof(host), &port), ERR_ARG);
    assert_int_equal(
        config_split_endpoint("h:70000", host, sizeof(host), &port), ERR_ARG);
    assert_int_equal(config_split_endpoint(":1", host, sizeof(host), &port),
                     ERR_ARG);
}

/* An agent reading the other role's file hears that first. */
static void
test_role_first(void **state)
{
    char path[600], want[1024];
    config_t c;

    (void)state;
    snprintf(path, sizeof(path), "%s/config/no-key.conf", s_dir());
    /* config_load names the first value problem of a subscriber file... */
    assert_int_equal(config_load(path, CONFIG_PUBLISHER, &c), ERR_ARG);
    /* ...config_load_role the role, with its line. */
    assert_int_equal(config_load_role(path, CONFIG_PUBLISHER, &c), ERR_ARG);
    snprintf(want, sizeof(want),
             "%s:1: role: this file configures a subscriber, not a "
             "publisher",
             path);
    assert_string_equal(err_detail(), want);
    snprintf(path, sizeof(path), "%s/config/good-publisher.conf", s_dir());
    assert_int_equal(config_load_role(path, CONFIG_SUBSCRIBER, &c), ERR_ARG);
    snprintf(want, sizeof(want),
             "%s:1: role: this file configures a publisher, not a "
             "subscriber",
             path);
    assert_string_equal(err_detail(), want);
    assert_int_equal(config_load_role(path, CONFIG_PUBLISHER, &c), ERR_OK);
    assert_int_equal(c.key_line[0], 1); /* role */
    assert_int_equal(c.key_line[1], 2); /* hostname */
    assert_int_equal(c.key_line[5], 0); /* publisher: a default */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_role_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
