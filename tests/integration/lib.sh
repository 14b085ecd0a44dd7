# Helpers for the integration tests (sourced). Each test sets its own
# cluster folder and loopback addresses so that tests never share a port.
set -euo pipefail

: "${ITL_BIN:?run through ctest}"
: "${ITL_SRC:?run through ctest}"
: "${ITL_TMP:=/tmp/itl-tests}"
export ITL_KEY_BITS=${ITL_KEY_BITS:-1024}
cluster="$ITL_SRC/deploy/local-cluster"
admin="$ITL_BIN/itl-admin"
failures=0
passes=0

ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { failures=$((failures + 1)); echo "FAILED: $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else
        bad "$1: got '$2', want '$3'"; fi
}

# expect_line FILE LINE: FILE holds exactly that line.
expect_line() {
    if grep -qxF -- "$2" "$1"; then ok "line: $2"; else
        bad "missing line '$2' in $1:"; sed 's/^/    /' "$1"; fi
}

# cluster_up NAME BASE_IP PORT NODES: a fresh cluster of NODES agents in
# $ITL_TMP/NAME on loopback addresses from BASE_IP up and cluster port PORT,
# settled (every node active and serving a complete ITL), stopped when the
# test exits. Sets d to its folder.
cluster_up() {
    export ITL_CLUSTER_DIR=$ITL_TMP/$1 ITL_BASE_IP=$2 ITL_CLUSTER_PORT=$3
    d=$ITL_CLUSTER_DIR
    trap '"$cluster" stop >/dev/null 2>&1 || true' EXIT
    "$cluster" stop >/dev/null 2>&1 || true
    rm -rf "$d"
    "$cluster" start "$4"
    "$cluster" wait
}

sha1_of() { sha1sum "$1" | cut -c1-40; }

json_field() { # FILE EXPR (python expression on d)
    "$admin" show itl --file "$1" --json |
        python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}

# Stops the test's cluster, checks that no agent reported a sanitizer
# error or a leak on its way out, and prints the closing line.
finish() {
    if [ -n "${ITL_CLUSTER_DIR:-}" ] && [ -d "$ITL_CLUSTER_DIR" ]; then
        "$cluster" stop >/dev/null 2>&1 || true
        if grep -l -E "ERROR: [A-Za-z]+Sanitizer|runtime error:|\
ERROR SUMMARY: [1-9]|definitely lost: [1-9]" \
            "$ITL_CLUSTER_DIR"/*/agent.log 2>/dev/null; then
            bad "an agent reported a sanitizer error (logs above)"
        else
            ok "no sanitizer or valgrind report in the agents' logs"
        fi
    fi
    echo "$passes passed, $failures failed"
    [ "$failures" -eq 0 ]
}
