#!/bin/bash
# valgrind.sh BUILD_DIR: the unit tests under valgrind's memcheck, then a
# three-node cluster doing a reset and a normal TFTP restart with every
# agent under valgrind. Fails on any memory error or definite leak.
# The unit tests run are the ones of the decoders and the logic that the
# agents run on every message; the ones dominated by key generation and
# scrypt (test_node, test_kdf, test_keystore, test_p12, test_tftpnode,
# test_backup) take tens of minutes under valgrind and run under ASan and
# LeakSanitizer instead (make asan), like the tests that only time real
# servers (test_tftpd, test_tftpc, test_sftpc).
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
skip=" test_tftpd test_tftpc test_sftpc test_node test_kdf test_keystore\
 test_p12 test_tftpnode test_backup test_tvs "

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

# A cluster whose agents all run under valgrind: start, reset, a normal
# TFTP restart, stop. Timings are generous: valgrind slows agents 20 times.
export ITL_AGENT_WRAPPER="$vg"
export ITL_CLUSTER_DIR=$ITL_TMP/cluster
export ITL_BASE_IP=127.0.0.130
export ITL_CLUSTER_PORT=7530
export ITL_KEY_BITS=1024
export ITL_HEARTBEAT_MS=1000
export ITL_HEARTBEAT_TIMEOUT_MS=20000
export ITL_RESET_TIMEOUT_MS=60000
cluster=$src/deploy/local-cluster
rm -rf "$ITL_CLUSTER_DIR"
status=0
{
    "$cluster" start 3 &&
        "$cluster" wait &&
        echo lab-admin-password |
        "$cluster" admin pub utils itl reset localkey --password-stdin &&
        "$cluster" admin sub1 utils service restart tftp
} > "$ITL_TMP/cluster.log" 2>&1 || status=$?
"$cluster" stop >> "$ITL_TMP/cluster.log" 2>&1
if [ $status -ne 0 ]; then
    failed=$((failed + 1))
    echo "valgrind: cluster under valgrind: FAILED (log $ITL_TMP/cluster.log)"
    tail -20 "$ITL_TMP/cluster.log"
elif grep -E "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|Invalid (read|write)" \
    "$ITL_CLUSTER_DIR"/*/agent.log; then
    failed=$((failed + 1))
    echo "valgrind: cluster under valgrind: memory errors (logs above)"
else
    passed=$((passed + 1))
    echo "valgrind: cluster under valgrind (reset, restart): clean"
fi
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
