#!/bin/bash
# valgrind.sh BUILD_DIR: the unit tests under valgrind's memcheck, then the
# main integration test (tests/integration/test_cluster_reset.sh) with every
# agent under valgrind. Fails on any memory error or definite leak.
# The unit tests that only wrap real servers (test_tftpd, test_tftpc,
# test_sftpc) are left out: their subject is the servers' timing, which
# valgrind's slowness would distort.
set -euo pipefail

build=$(cd "${1:?usage: valgrind.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
vg="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
--error-exitcode=99 --track-fds=no"
export ITL_SAMPLES=${ITL_SAMPLES:-$src/../shared/samples}
export ITL_TESTDATA=$src/tests/data
export ITL_BIN=$build/bin
export ITL_SRC=$src
export ITL_TMP=$build/testtmp-valgrind
mkdir -p "$ITL_TMP"
failed=0
passed=0
skip=" test_tftpd test_tftpc test_sftpc "

for t in "$build"/tests/test_*; do
    name=$(basename "$t")
    case "$skip" in *" $name "*) continue ;; esac
    if $vg "$t" > "$ITL_TMP/$name.log" 2>&1; then
        passed=$((passed + 1))
        echo "valgrind: $name: clean"
    else
        failed=$((failed + 1))
        echo "valgrind: $name: FAILED (log $ITL_TMP/$name.log)"
        tail -30 "$ITL_TMP/$name.log"
    fi
done

export ITL_AGENT_WRAPPER="$vg"
if bash "$src/tests/integration/test_cluster_reset.sh" \
    > "$ITL_TMP/cluster_reset.log" 2>&1; then
    passed=$((passed + 1))
    echo "valgrind: integration/test_cluster_reset: clean"
else
    failed=$((failed + 1))
    echo "valgrind: integration/test_cluster_reset: FAILED" \
        "(log $ITL_TMP/cluster_reset.log)"
    grep -E "FAILED|ERROR SUMMARY|definitely" "$ITL_TMP/cluster_reset.log" |
        head -20
fi
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
