/* Unit tests of backup: the recorded state and the daily warning, driven
 * by an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backup.h"
#include "clusterpw.h"
#include "fsutil.h"
#include "node.h"

#define CLUSTER "Cluster-Pass1"
/* 2023-11-14 12:00:01 UTC */
#define T0  1699963201LL
#define DAY 86400LL

static char s_state[600];

static int
s_setup(void **unused)
{
    static const node_params_t pub = {
        "pub1", {"Voice", "Example", "Lisbon", "Lisboa", "PT"}, 1024, 1};
    const char *base = getenv("ITL_TMP");
    char tmpl[512];

    (void)unused;
    if (base == NULL)
        base = "/tmp";
    assert_int_equal(fs_mkdir_p(base, 0755), ERR_OK);
    snprintf(tmpl, sizeof(tmpl), "%s/backup.XXXXXX", base);
    assert_non_null(mkdtemp(tmpl));
    snprintf(s_state, sizeof(s_state), "%s/state", tmpl);
    assert_int_equal(node_init(s_state, &pub, CLUSTER, "Admin-Pass9"), ERR_OK);
    return 0;
}

/* Never backed up: warned at start, then once a day, not in between. */
static void
test_daily_warning(void **unused)
{
    backup_nag_t nag = {0};
    char msg[1024], want[1024];
    long long t = T0;

    (void)unused;
    snprintf(want, sizeof(want),
             "the recovery key %s/keys/ITLRecovery.p12 "
             "has never been backed up; without a copy a rebuilt publisher "
             "cannot reset the phones. Back it up with: itl-admin file get "
             "tftp ITLRecovery.p12",
             s_state);
    assert_int_equal(backup_nag_due(s_state, t, &nag, msg, sizeof(msg)), 1);
    assert_string_equal(msg, want);
    /* Every minute of the next day: silent. */
    for (t = T0 + 60; t < T0 + DAY; t += 60)
        assert_int_equal(backup_nag_due(s_state, t, &nag, msg, sizeof(msg)), 0);
    assert_int_equal(backup_nag_due(s_state, T0 + DAY, &nag, msg, sizeof(msg)),
                     1);
    assert_string_equal(msg, want);
    assert_int_equal(
        backup_nag_due(s_state, T0 + DAY + 60, &nag, msg, sizeof(msg)), 0);
    /* A clock set back an hour re-arms the warning. */
    assert_int_equal(
        backup_nag_due(s_state, T0 + DAY - 3600, &nag, msg, sizeof(msg)), 1);
}

/* A backup silences it; a changed key file (new password) brings it back. */
static void
test_backup_then_change(void **unused)
{
    backup_nag_t nag = {0};
    backup_status_t st;
    char sha[65], msg[1024], want[1024];
    long long t = T0 + 10 * DAY;

    (void)unused;
    assert_int_equal(backup_key_sha256(s_state, sha), ERR_OK);
    assert_int_equal(strlen(sha), 64);
    assert_int_equal(
        backup_record(s_state, "00", "u@h:22:d/ITLRecovery.p12", "upload", T0),
        ERR_REFUSED);
    assert_int_equal(backup_record(s_state, sha, "bad\nwhere", "upload", T0),
                     ERR_ARG);
    assert_int_equal(
        backup_record(s_state, sha, "u@h:22:d/ITLRecovery.p12", "upload", T0),
        ERR_OK);
    assert_int_equal(backup_status(s_state, &st), ERR_OK);
    assert_int_equal(st.recorded, 1);
    assert_int_equal(st.current, 1);
    assert_int_equal(st.time, T0);
    assert_string_equal(st.where, "u@h:22:d/ITLRecovery.p12");
    assert_string_equal(st.how, "upload");
    assert_int_equal(backup_nag_due(s_state, t, &nag, msg, sizeof(msg)), 0);
    assert_int_equal(backup_nag_due(s_state, t + DAY, &nag, msg, sizeof(msg)),
                     0);

    /* The new password re-encrypts the key file: not backed up any more. */
    assert_int_equal(clusterpw_change(s_state, "wrong", "Next-Pass2"),
                     ERR_PASSWORD);
    assert_int_equal(backup_status(s_state, &st), ERR_OK);
    assert_int_equal(st.current, 1);
    assert_int_equal(clusterpw_change(s_state, CLUSTER, "Next-Pass2"), ERR_OK);
    assert_int_equal(backup_status(s_state, &st), ERR_OK);
    assert_int_equal(st.recorded, 1);
    assert_int_equal(st.current, 0);
    /* Within the minute the file is not looked at again. */
    assert_int_equal(
        backup_nag_due(s_state, t + DAY + 30, &nag, msg, sizeof(msg)), 0);
    assert_int_equal(
        backup_nag_due(s_state, t + DAY + 60, &nag, msg, sizeof(msg)), 1);
    snprintf(want, sizeof(want),
             "the recovery key %s/keys/ITLRecovery.p12 "
             "changed since its last backup (2023-11-14 12:00:01 UTC to "
             "u@h:22:d/ITLRecovery.p12); back it up again with: itl-admin "
             "file get tftp ITLRecovery.p12",
             s_state);
    assert_string_equal(msg, want);
}

static void
test_damaged_state(void **unused)
{
    backup_nag_t nag = {0};
    backup_status_t st;
    char path[700], msg[1024];

    (void)unused;
    snprintf(path, sizeof(path), "%s/backup.state", s_state);
    assert_int_equal(fs_write_durable(path, "sha256=zz\n", 10, 0644, 0),
                     ERR_OK);
    assert_int_equal(backup_status(s_state, &st), ERR_FORMAT);
    assert_int_equal(backup_nag_due(s_state, T0, &nag, msg, sizeof(msg)), 1);
    assert_non_null(strstr(msg, "has no usable backup record ("));
    assert_non_null(strstr(msg, "backup.state is damaged"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_warning),
        cmocka_unit_test(test_backup_then_change),
        cmocka_unit_test(test_damaged_state),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
