/* Unit tests of err: codes, details, and a detail that wraps the last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"

static void
test_wrapping_keeps_the_inner_detail(void **state)
{
    (void)state;
    err_set(ERR_NOTFOUND, "cannot open /x/ITLFile.tlv: No such file");
    assert_int_equal(err_set(ERR_IO, "cannot read the ITL: %s", err_detail()),
                     ERR_IO);
    assert_string_equal(err_detail(), "cannot read the ITL: cannot open "
                                      "/x/ITLFile.tlv: No such file");
    assert_int_equal(err_last(), ERR_IO);
}

static void
test_names(void **state)
{
    (void)state;
    err_clear();
    assert_string_equal(err_detail(), "success");
    assert_string_equal(err_str(ERR_HOLD), "hold timer running");
    assert_string_equal(err_str(-999), "unknown error");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrapping_keeps_the_inner_detail),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
