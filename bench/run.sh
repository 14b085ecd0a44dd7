#!/bin/bash
# make bench: the benchmarks of issue 10. Prints figures, writes JSON and a
# PNG plot under BUILD/bench/, and ends with a table. Asserts nothing.
#
#   bench/run.sh [BUILD]
#
# Environment: BENCH_SIZES (default "1 10 50 200 1000" subscribers),
# BENCH_RUNS (resets per size, default 5; half that above 50 nodes),
# BENCH_PHONES (boot storm, default 1000), BENCH_CODEC_SECONDS (default 3),
# BENCH_LOG_LEVEL (agents' log level, default info).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
out=$build/bench
sizes=${BENCH_SIZES:-1 10 50 200 1000}
secs=${BENCH_CODEC_SECONDS:-3}
mkdir -p "$out"

echo "make bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB",
    $2 / 1048576}' /proc/meminfo) of memory"
echo "The machine may be shared: figures are noisy; medians are reported."

echo
echo "== codec against the floor (RSA-2048, ${secs} s per figure)"
cmake --build "$build" --target bench_codec >/dev/null
"$build/bench/bench_codec" "$secs" "$out/codec.json"
openssl speed -seconds "$secs" rsa2048 2>/dev/null > "$out/openssl-speed.txt"
python3 - "$out/openssl-speed.txt" "$out/codec.json" <<'EOF'
import json, sys
sign = verify = None
for line in open(sys.argv[1]):
    w = line.split()
    if w[:2] == ["rsa", "2048"] and len(w) >= 7:
        sign, verify = float(w[5]), float(w[6])
d = json.load(open(sys.argv[2]))
d["openssl_speed_sign_per_s"] = sign
d["openssl_speed_verify_per_s"] = verify
json.dump(d, open(sys.argv[2], "w"), indent=1)
print("openssl speed rsa2048: %.0f sign/s, %.0f verify/s" % (sign, verify))
for f in d["files"]:
    print("ITL of %2d records: parse+verify %.0f%% of openssl verify, "
          "strip+re-sign %.0f%% of openssl sign" %
          (f["records"], 100 * f["parse_verify_per_s"] / verify,
           100 * f["resign_per_s"] / sign))
EOF

echo
echo "== reset fan-out, the usual way, memory and boot storm"
echo "Nodes: RSA-1024 keys; one subscriber initialised and copied into the"
echo "others with their own host name and CURVE key; the publisher's member"
echo "files seeded as if each had joined (see docs/PERFORMANCE.md)."
# shellcheck disable=SC2086
python3 "$top/bench/cluster.py" "$build" $sizes

echo
python3 - "$out" <<'EOF'
import json, os, sys
out = sys.argv[1]
r = json.load(open(os.path.join(out, "reset.json")))
c = json.load(open(os.path.join(out, "codec.json")))
print("%-8s %-10s %10s %10s %10s %10s %9s %9s" % (
    "subs", "restart", "ours s", "fan-out s", "node p90", "usual s",
    "usual/us", "pub MiB"))
rows = []
for e in r["sizes"]:
    if "error" in e:
        print("%-8d %s" % (e["subscribers"], e["error"]))
        continue
    p90 = sorted(x["node_latency_s"]["p90"] or 0 for x in e["runs"])
    p90 = p90[len(p90) // 2]
    print("%-8d %-10s %10.3f %10.3f %10.3f %10s %9s %9.1f" % (
        e["subscribers"], e["tftp_restart"], e["median_total_s"],
        e["median_fanout_s"], p90,
        "%.2f" % e["usual_median_s"] if "usual_median_s" in e else "-",
        "%.1fx" % e["ratio"] if "ratio" in e else "-",
        e["memory"]["publisher_hwm_mib"] or 0))
    rows.append("%d %.4f %s" % (e["subscribers"], e["median_total_s"],
                                "%.4f" % e["usual_median_s"]
                                if "usual_median_s" in e else "NaN"))
with open(os.path.join(out, "reset.dat"), "w") as f:
    f.write("# subscribers ours_s usual_s\n" + "\n".join(rows) + "\n")
for e in r["sizes"]:
    if "memory" in e:
        m = e["memory"]
        print("memory at %d subscribers: publisher %.1f MiB, subscriber "
              "median %.1f MiB (VmHWM)" % (e["subscribers"],
                                           m["publisher_hwm_mib"] or 0,
                                           m["subscriber_hwm_mib_median"]
                                           or 0))
if "boot_storm" in r:
    b = r["boot_storm"]
    print("boot storm: %d phones in %.2f s, %.0f phones/s: %s" % (
        b["phones"], b["seconds"], b["phones_per_s"], b["summary"][-1]))
sv, ss = c["openssl_speed_verify_per_s"], c["openssl_speed_sign_per_s"]
iv, is_ = c["raw_verify_per_s"], c["raw_sign_per_s"]
for f in c["files"]:
    print("codec, %2d records: parse+verify %.0f/s = %.0f%% of in-process "
          "raw verify (%.0f%% of openssl speed); re-sign %.0f/s = %.0f%% of "
          "in-process raw sign (%.0f%% of openssl speed)" % (
              f["records"], f["parse_verify_per_s"],
              100 * f["parse_verify_per_s"] / iv,
              100 * f["parse_verify_per_s"] / sv, f["resign_per_s"],
              100 * f["resign_per_s"] / is_, 100 * f["resign_per_s"] / ss))
EOF

if command -v gnuplot >/dev/null; then
    gnuplot <<EOF
set terminal pngcairo size 900,560 noenhanced
set output "$out/reset.png"
set title "ITL reset: command to last report, by cluster size (medians)"
set xlabel "subscribers (publisher + N nodes)"
set ylabel "seconds"
set logscale xy
set grid
set key top left
set label "above 50: tftp_restart = none" at 120,0.15
plot "$out/reset.dat" using 1:2 with linespoints lw 2 pt 7 \
        title "ours: fan-out from the publisher", \
     "$out/reset.dat" using 1:3 with linespoints lw 2 pt 5 \
        title "usual way: sftp + ssh restart, node after node"
EOF
    echo "plot: $out/reset.png"
else
    echo "no gnuplot: no plot (install gnuplot-nox)"
fi
echo "JSON: $out/codec.json $out/reset.json"
