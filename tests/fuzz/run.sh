#!/bin/bash
# run.sh BUILD_DIR SECONDS: runs every libFuzzer target BUILD_DIR/fuzz/fuzz_*
# for SECONDS each on a fresh copy of its seed corpus (tests/fuzz/corpus/<name>
# plus, for the ITL codec, the real samples, the malformed-input cases and a
# file built by itl-admin when it was built). Exits non-zero if any target
# finds a crash, a leak or a timeout; the reproducer is kept and named.
set -euo pipefail

BUILD=${1:?usage: run.sh BUILD_DIR SECONDS}
SECONDS_EACH=${2:?usage: run.sh BUILD_DIR SECONDS}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SAMPLES=${ITL_SAMPLES:-$SRC/../shared/samples}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/itl-fuzz.XXXXXX")
trap 'rm -rf "$WORK/corpus-"*' EXIT

shopt -s nullglob
targets=("$BUILD"/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
    echo "run.sh: no fuzz targets in $BUILD/fuzz (build with -DITL_FUZZ=ON)" >&2
    exit 2
fi

# Extra seeds for the ITL codec, made fresh each run.
itl_seeds() {
    local dir=$1
    [ -d "$SAMPLES/itl" ] && {
        cp "$SAMPLES/itl/SCFFile.tlv" "$dir/" 2>/dev/null || true
        cp "$SAMPLES/itl/peer-built/ITLFile-sha512.tlv" "$dir/" 2>/dev/null ||
            true
        xxd -r -p "$SAMPLES/itl/hex.tlv.txt" >"$dir/hex.tlv" 2>/dev/null ||
            true
    }
    for f in "$SRC"/tests/data/itl-malformed/*.tlv; do
        cp "$f" "$dir/malformed-$(basename "$f")"
    done
    local admin="$BUILD/bin/itl-admin"
    if [ -x "$admin" ] && command -v openssl >/dev/null; then
        local k="$WORK/seed"
        openssl req -x509 -newkey rsa:1024 -nodes -days 30 -subj "/CN=seed" \
            -keyout "$k.key" -out "$k.pem" 2>/dev/null && chmod 600 "$k.key"
        "$admin" build itl --key "$k.key" --cert "$k.pem" \
            --out "$dir/built.tlv" --record "sast=$k.pem" \
            --record "tvs=$k.pem,hash" >/dev/null 2>&1 || true
    fi
}

status=0
for bin in "${targets[@]}"; do
    name=$(basename "$bin")
    short=${name#fuzz_}
    corpus="$WORK/corpus-$short"
    mkdir -p "$corpus"
    if [ -d "$SRC/tests/fuzz/corpus/$short" ]; then
        cp "$SRC/tests/fuzz/corpus/$short"/* "$corpus/" 2>/dev/null || true
    fi
    [ "$short" = itl ] && itl_seeds "$corpus"
    echo "== $name: $SECONDS_EACH s on $(ls "$corpus" | wc -l) seeds"
    if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=70000 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$WORK/$short-" "$corpus" \
        >"$WORK/$short.log" 2>&1; then
        echo "run.sh: $name FAILED; log $WORK/$short.log, reproducer:" >&2
        ls "$WORK/$short-"* >&2 2>/dev/null || true
        tail -40 "$WORK/$short.log" >&2
        status=1
    else
        grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' \
            "$WORK/$short.log" | tail -2
    fi
done
[ $status -eq 0 ] && rm -rf "$WORK"
exit $status
