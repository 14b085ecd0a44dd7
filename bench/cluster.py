#!/usr/bin/env python3
"""Reset fan-out, the usual way (sftp + ssh, node after node), memory and a
boot storm, on clusters of real agents on loopback.

    bench/cluster.py BUILD_DIR SIZE...

Node folders are made once and kept under BUILD/bench/nodes/. Figures are
printed and written as JSON under BUILD/bench/. A benchmark: it prints
figures and asserts nothing about them.
"""
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

CLUSTER_PW = "bench-cluster-security-password"
ADMIN_PW = "bench-admin-password"
PUB_IP = "127.0.100.5"
CLUSTER_PORT = 7400
TFTP_PORT = 6969
USUAL_TFTP_PORT = 6970
KEY_BITS = 1024
SUPERVISED_MAX = 50  # above this many subscribers: tftp_restart = none
BENCHES = []
USUALS = []


def sub_ip(i):
    return "127.0.%d.%d" % (100 + i // 200, 10 + i % 200)


def say(*a):
    print(*a, flush=True)


class Bench:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.bin = os.path.join(self.build, "bin")
        self.out = os.path.join(self.build, "bench")
        self.nodes = os.path.join(self.out, "nodes")
        self.procs = {}
        os.makedirs(self.nodes, exist_ok=True)
        BENCHES.append(self)

    # ---- configuration and node folders ---------------------------------

    def ndir(self, name):
        return os.path.join(self.nodes, name)

    def write_config(self, name, role, ip, restart, nsubs):
        d = self.ndir(name)
        os.makedirs(os.path.join(d, "tftp"), exist_ok=True)
        big = nsubs > SUPERVISED_MAX
        lines = [
            "role = %s" % role,
            "hostname = %s" % name,
            "cluster_id = bench",
            "state_dir = %s/state" % d,
            "tftp_address = %s" % ip,
            "tftp_port = %d" % TFTP_PORT,
            "tftp_folder = %s/tftp" % d,
            "tftp_restart = %s" % restart,
            "organisation = Lab", "org_unit = Voice", "locality = Lisbon",
            "state = Lisboa", "country = PT",
            "key_bits = %d" % KEY_BITS,
            "heartbeat_ms = %d" % (2000 if big else 500),
            "heartbeat_timeout_ms = %d" % (60000 if big else 5000),
            "reset_timeout_ms = 60000",
            "connect_timeout_ms = 5000",
            "log_level = %s" % os.environ.get("BENCH_LOG_LEVEL", "info"),
        ]
        if role == "publisher":
            lines.append("listen = %s:%d" % (PUB_IP, CLUSTER_PORT))
        else:
            lines.append("publisher = %s:%d" % (PUB_IP, CLUSTER_PORT))
            lines.append("publisher_key = %s" % self.pub_key)
        with open(os.path.join(d, "agent.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return os.path.join(d, "agent.conf")

    def agent(self, name, *args, stdin=None):
        prog = "itl-publisher" if name == "pub" else "itl-subscriber"
        return subprocess.run(
            [os.path.join(self.bin, prog), "--config",
             os.path.join(self.ndir(name), "agent.conf")] + list(args),
            input=stdin, capture_output=True, text=True, check=True).stdout

    def setup_templates(self):
        """The publisher, and one subscriber that every other copies."""
        pub = self.ndir("pub")
        self.pub_key = ""
        if not os.path.exists(os.path.join(pub, "state/node.info")):
            say("setup: initialising the publisher (RSA-%d)" % KEY_BITS)
            self.write_config("pub", "publisher", PUB_IP, "supervise", 1)
            self.agent("pub", "--password-stdin", "init",
                       stdin="%s\n%s\n" % (CLUSTER_PW, ADMIN_PW))
        self.write_config("pub", "publisher", PUB_IP, "supervise", 1)
        self.pub_key = self.agent("pub", "show-key").strip()
        tmpl = self.ndir("tmpl")
        if os.path.exists(os.path.join(tmpl, "state/certset.pb")):
            return
        say("setup: initialising the template subscriber and letting it "
            "join once")
        self.write_config("tmpl", "subscriber", sub_ip(0), "none", 1)
        self.agent("tmpl", "--password-stdin", "init",
                   stdin="%s\n" % CLUSTER_PW)
        self.start("pub")
        self.wait_socket("pub")
        self.start("tmpl")
        for _ in range(200):
            if os.path.exists(os.path.join(tmpl, "state/certset.pb")):
                break
            time.sleep(0.1)
        self.stop_all()
        if not os.path.exists(os.path.join(tmpl, "state/certset.pb")):
            sys.exit("bench: the template subscriber did not join; see %s"
                     % os.path.join(tmpl, "agent.log"))

    def make_node(self, i):
        """subI: a copy of the template's state with its own host name
        and its own CURVE key."""
        name = "sub%d" % i
        d = self.ndir(name)
        if os.path.exists(os.path.join(d, "curve.pub")):
            return
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        shutil.copytree(os.path.join(self.ndir("tmpl"), "state"),
                        os.path.join(d, "state"), symlinks=True,
                        ignore=shutil.ignore_patterns(
                            "curve.key", "reset.state", "admin.sock",
                            "*.prev"))
        info = os.path.join(d, "state/node.info")
        with open(info) as f:
            text = f.read()
        text = "".join("hostname=%s\n" % name if ln.startswith("hostname=")
                       else ln + "\n" for ln in text.splitlines())
        with open(info, "w") as f:
            f.write(text)
        self.write_config(name, "subscriber", sub_ip(i), "none", 1)
        key = self.agent(name, "show-key").strip()
        with open(os.path.join(d, "curve.pub"), "w") as f:
            f.write(key + "\n")

    def make_nodes(self, n):
        todo = [i for i in range(1, n + 1)
                if not os.path.exists(self.ndir("sub%d/curve.pub" % i))]
        if todo:
            say("setup: copying the template into %d node folders "
                "(own host name, own CURVE key)" % len(todo))
            with ThreadPoolExecutor(4) as ex:
                list(ex.map(self.make_node, todo))

    def seed_publisher(self, n):
        """The publisher's record of enrolled keys and registered members,
        as if sub1..subN had joined one by one before."""
        st = os.path.join(self.ndir("pub"), "state/cluster")
        members = os.path.join(st, "members")
        os.makedirs(members, exist_ok=True)
        for f in os.listdir(members):
            os.unlink(os.path.join(members, f))
        tmpl = os.path.join(self.ndir("tmpl"), "state/keys")
        cm = pem_der(os.path.join(tmpl, "callmanager.pem"))
        tvs = pem_der(os.path.join(tmpl, "tvs.pem"))
        lines = []
        for i in range(1, n + 1):
            name = "sub%d" % i
            with open(os.path.join(self.ndir(name), "curve.pub")) as f:
                key = f.read().strip()
            lines.append("%s %s\n" % (name, key))
            reg = (pb_str(1, name) + pb_str(2, "%s:%d" % (sub_ip(i),
                                                           TFTP_PORT)) +
                   pb_varint_field(3, 1) + pb_bytes(4, cm) + pb_bytes(5, tvs))
            with open(os.path.join(members, name + ".pb"), "wb") as f:
                f.write(reg)
        with open(os.path.join(st, "enrolled"), "w") as f:
            f.writelines(lines)

    # ---- processes ------------------------------------------------------

    def start(self, name):
        prog = "itl-publisher" if name == "pub" else "itl-subscriber"
        log = open(os.path.join(self.ndir(name), "agent.log"), "a")
        self.procs[name] = subprocess.Popen(
            [os.path.join(self.bin, prog), "--config",
             os.path.join(self.ndir(name), "agent.conf"), "--foreground",
             "run"], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

    def wait_socket(self, name, tries=300):
        sock = os.path.join(self.ndir(name), "state/admin.sock")
        for _ in range(tries):
            if os.path.exists(sock):
                return
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.1)
        sys.exit("bench: %s did not start; see %s" %
                 (name, os.path.join(self.ndir(name), "agent.log")))

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.time() + 15
        for p in self.procs.values():
            try:
                p.wait(max(0.1, end - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = {}

    def admin(self, *args, stdin=None, timeout=120):
        env = dict(os.environ, ITL_ADMIN_SOCKET=os.path.join(
            self.ndir("pub"), "state/admin.sock"))
        return subprocess.run([os.path.join(self.bin, "itl-admin")] +
                              list(args), env=env, input=stdin, text=True,
                              capture_output=True, timeout=timeout)

    def active(self):
        try:
            r = self.admin("show", "cluster", "--json", timeout=30)
        except subprocess.TimeoutExpired:
            return -1
        try:
            return sum(1 for m in json.loads(r.stdout)
                       if m["role"] == "subscriber" and
                       m["state"] == "active")
        except ValueError:
            return -1

    # ---- the benchmarks -------------------------------------------------

    def start_cluster(self, n):
        restart = "supervise" if n <= SUPERVISED_MAX else "none"
        self.write_config("pub", "publisher", PUB_IP, "supervise", n)
        for i in range(1, n + 1):
            self.write_config("sub%d" % i, "subscriber", sub_ip(i), restart, n)
        self.seed_publisher(n)
        t0 = time.monotonic()
        self.start("pub")
        self.wait_socket("pub")
        for i in range(1, n + 1):
            self.start("sub%d" % i)
        deadline = time.monotonic() + 60 + n * 0.2
        while time.monotonic() < deadline:
            if self.active() == n:
                break
            time.sleep(0.5)
        act = self.active()
        say("  %d subscribers started and active in %.1f s%s" %
            (act, time.monotonic() - t0,
             "" if act == n else " (NOT ALL: %d of %d)" % (act, n)))
        return act == n

    def reset_once(self):
        env = dict(os.environ, ITL_ADMIN_SOCKET=os.path.join(
            self.ndir("pub"), "state/admin.sock"))
        t0 = time.monotonic()
        p = subprocess.Popen([os.path.join(self.bin, "itl-admin"), "utils",
                              "itl", "reset", "localkey",
                              "--password-stdin"], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, bufsize=1)
        p.stdin.write(ADMIN_PW + "\n")
        p.stdin.close()
        t_transfer = None
        done = {}
        last = t0
        for line in p.stdout:
            t = time.monotonic()
            if line.startswith("Transferring new reset ITL"):
                t_transfer = t
            elif line.startswith("TFTP service restarted on host "):
                done[line.split()[-1]] = t
            if line.strip():
                last = t
        rc = p.wait()
        lat = sorted(t - (t_transfer or t0) for t in done.values())
        return {
            "ok": rc == 0,
            "total_s": last - t0,
            "fanout_s": last - (t_transfer or t0),
            "prepare_s": (t_transfer or t0) - t0,
            "nodes_done": len(done),
            "node_latency_s": {
                "min": lat[0] if lat else None,
                "median": statistics.median(lat) if lat else None,
                "p90": lat[int(0.9 * (len(lat) - 1))] if lat else None,
                "max": lat[-1] if lat else None,
            },
        }

    def memory(self):
        def hwm(pid):
            try:
                with open("/proc/%d/status" % pid) as f:
                    for ln in f:
                        if ln.startswith("VmHWM:"):
                            return int(ln.split()[1]) / 1024.0
            except OSError:
                return None
        subs = [hwm(p.pid) for n, p in self.procs.items() if n != "pub"]
        subs = [s for s in subs if s is not None]
        return {"publisher_hwm_mib": hwm(self.procs["pub"].pid),
                "subscriber_hwm_mib_median":
                    statistics.median(subs) if subs else None,
                "subscriber_hwm_mib_max": max(subs) if subs else None}

    def boot_storm(self, phones):
        root = os.path.join(self.out, "phones")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(self.bin, "itl-phone"), "fleet",
                            "--count", str(phones), "--state-root", root,
                            "--server", "%s:%d" % (PUB_IP, TFTP_PORT),
                            "--parallel", str(phones), "--timeout", "20000"],
                           capture_output=True, text=True)
        t = time.monotonic() - t0
        shutil.rmtree(root, ignore_errors=True)
        return {"phones": phones, "seconds": t, "phones_per_s": phones / t,
                "exit_status": r.returncode,
                "summary": (r.stdout + r.stderr).strip().splitlines()[-3:]}


# ---- hand-written protobuf for the seeded member files -------------------

def pb_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pb_varint_field(num, v):
    return pb_varint(num << 3) + pb_varint(v)


def pb_bytes(num, b):
    return pb_varint(num << 3 | 2) + pb_varint(len(b)) + b


def pb_str(num, s):
    return pb_bytes(num, s.encode())


def pem_der(path):
    import base64
    with open(path) as f:
        body = [ln.strip() for ln in f if ln.strip() and "-----" not in ln]
    return base64.b64decode("".join(body))


# ---- the usual way: sftp + ssh, node after node ---------------------------

class UsualWay:
    """A local sshd of our own, and one plain in.tftpd per node that its
    restart script stops and starts again."""

    def __init__(self, bench):
        self.b = bench
        self.dir = os.path.join(bench.out, "ssh")
        self.sshd = None
        USUALS.append(self)

    def setup(self):
        d = self.dir
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o700)
        for kind in ("ed25519",):
            hk = os.path.join(d, "host_%s" % kind)
            if not os.path.exists(hk):
                subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "",
                                "-f", hk], check=True)
        self.key = os.path.join(d, "client_key")
        if not os.path.exists(self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-f", self.key], check=True)
        shutil.copy(self.key + ".pub", os.path.join(d, "authorized_keys"))
        os.chmod(os.path.join(d, "authorized_keys"), 0o600)
        import random
        import socket
        for _ in range(20):
            self.port = random.randint(20000, 60000)
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", self.port))
                s.close()
                break
            except OSError:
                s.close()
        with open(os.path.join(d, "sshd_config"), "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\n"
                    "HostKey %s/host_ed25519\nAuthorizedKeysFile %s/"
                    "authorized_keys\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\n"
                    "StrictModes no\nPermitRootLogin prohibit-password\n"
                    "PidFile %s/sshd.pid\nSubsystem sftp internal-sftp\n"
                    "MaxStartups 100\nLogLevel ERROR\n" % (self.port, d, d, d))
        os.makedirs("/run/sshd", exist_ok=True)
        self.sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f",
                                      os.path.join(d, "sshd_config"), "-E",
                                      os.path.join(d, "sshd.log")])
        with open(os.path.join(d, "restart-tftpd"), "w") as f:
            f.write(RESTART_SCRIPT)
        os.chmod(os.path.join(d, "restart-tftpd"), 0o755)
        for _ in range(50):
            if self.ssh("true").returncode == 0:
                return
            time.sleep(0.1)
        sys.exit("bench: the local sshd does not answer; see %s/sshd.log" % d)

    def opts(self):
        return ["-i", self.key, "-o", "BatchMode=yes", "-o",
                "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=%s/known_hosts" % self.dir, "-o",
                "LogLevel=ERROR"]

    def ssh(self, cmd):
        return subprocess.run(["ssh", "-p", str(self.port)] + self.opts() +
                              ["127.0.0.1", cmd], capture_output=True,
                              text=True)

    def node_dir(self, i):
        return os.path.join(self.dir, "nodes", "sub%d" % i)

    def start_servers(self, n):
        for i in range(0, n + 1):
            d = self.node_dir(i)
            os.makedirs(os.path.join(d, "tftp"), exist_ok=True)
            subprocess.run([os.path.join(self.dir, "restart-tftpd"), d,
                            "%s:%d" % (PUB_IP if i == 0 else sub_ip(i),
                                       USUAL_TFTP_PORT)], check=True)

    def stop_servers(self, n):
        for i in range(0, n + 1):
            pidf = os.path.join(self.node_dir(i), "tftpd.pid")
            try:
                with open(pidf) as f:
                    os.kill(int(f.read()), signal.SIGTERM)
            except (OSError, ValueError):
                pass

    def run(self, n, itl):
        """The file to every node in turn: sftp put, then ssh restart."""
        t0 = time.monotonic()
        for i in range(0, n + 1):
            d = self.node_dir(i)
            batch = "put %s %s/tftp/ITLFile.tlv\n" % (itl, d)
            r = subprocess.run(["sftp", "-q", "-b", "-", "-P",
                                str(self.port)] + self.opts() +
                               ["127.0.0.1"], input=batch, text=True,
                               capture_output=True)
            if r.returncode != 0:
                sys.exit("bench: sftp failed: %s" % r.stderr)
            r = self.ssh("%s/restart-tftpd %s %s:%d" % (
                self.dir, d, PUB_IP if i == 0 else sub_ip(i),
                USUAL_TFTP_PORT))
            if r.returncode != 0:
                sys.exit("bench: the restart over ssh failed: %s" % r.stderr)
        return time.monotonic() - t0

    def close(self):
        if self.sshd and self.sshd.poll() is None:
            self.sshd.terminate()
            self.sshd.wait()


RESTART_SCRIPT = r"""#!/bin/sh
# Restarts the plain in.tftpd of one node: stop the running one, start a
# new one on the same address, return once it listens. SIGKILL, not
# SIGTERM: in.tftpd takes 1 to 2 s to act on SIGTERM here, and the usual way
# should not be charged for that.
set -e
dir=$1
addr=$2
if [ -f "$dir/tftpd.pid" ]; then
    pid=$(cat "$dir/tftpd.pid")
    kill -KILL "$pid" 2>/dev/null || true
    # Gone, or a zombie that nobody has reaped yet (it holds no socket).
    while st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' \
            "/proc/$pid/status" 2>/dev/null) && [ -n "$st" ] &&
            [ "$st" != Z ]; do
        sleep 0.01
    done
fi
/usr/sbin/in.tftpd --listen --address "$addr" --secure \
    --pidfile "$dir/tftpd.pid" "$dir/tftp" </dev/null >/dev/null 2>&1
"""


def main():
    build = sys.argv[1]
    sizes = [int(s) for s in sys.argv[2:]]
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    b = Bench(build)
    b.setup_templates()
    b.make_nodes(max(sizes))
    results = {"key_bits": KEY_BITS, "supervised_max": SUPERVISED_MAX,
               "runs_per_size": runs, "sizes": []}
    usual = None
    storm_done = False
    for n in sizes:
        restart = "in.tftpd restarted (supervise)" if n <= SUPERVISED_MAX \
            else "tftp_restart = none (no TFTP service restart)"
        say("\n== reset fan-out: publisher + %d subscribers, %s" % (n, restart))
        if not b.start_cluster(n):
            b.stop_all()
            results["sizes"].append({"subscribers": n, "error":
                                     "the cluster did not form"})
            continue
        nruns = runs if n <= 50 else max(2, runs // 2)
        rs = []
        for k in range(nruns):
            r = b.reset_once()
            rs.append(r)
            lat = r["node_latency_s"]
            say("  run %d: %s in %.3f s (prepare %.3f s, fan-out %.3f s; "
                "node latency min %.3f median %.3f p90 %.3f max %.3f s), "
                "%d nodes" % (k + 1, "complete" if r["ok"] else "INCOMPLETE",
                              r["total_s"], r["prepare_s"], r["fanout_s"],
                              lat["min"] or 0, lat["median"] or 0,
                              lat["p90"] or 0, lat["max"] or 0,
                              r["nodes_done"]))
            time.sleep(0.5)
        mem = b.memory()
        say("  memory (VmHWM): publisher %.1f MiB, subscriber median %.1f "
            "MiB, max %.1f MiB" % (mem["publisher_hwm_mib"] or 0,
                                   mem["subscriber_hwm_mib_median"] or 0,
                                   mem["subscriber_hwm_mib_max"] or 0))
        entry = {"subscribers": n, "nodes": n + 1, "tftp_restart":
                 "supervise" if n <= SUPERVISED_MAX else "none",
                 "runs": rs,
                 "median_total_s": statistics.median(r["total_s"] for r in rs),
                 "median_fanout_s":
                     statistics.median(r["fanout_s"] for r in rs),
                 "all_ok": all(r["ok"] for r in rs), "memory": mem}
        say("  median: %.3f s from the command to the last report "
            "(fan-out alone %.3f s)" % (entry["median_total_s"],
                                        entry["median_fanout_s"]))
        phones = int(os.environ.get("BENCH_PHONES", "1000"))
        if n <= SUPERVISED_MAX and not storm_done and \
                n == max(s for s in sizes if s <= SUPERVISED_MAX):
            say("  boot storm: %d phones at once against pub's in.tftpd"
                % phones)
            storm = b.boot_storm(phones)
            say("    %.2f s, %.0f phones/s, fleet exit status %d: %s" %
                (storm["seconds"], storm["phones_per_s"],
                 storm["exit_status"], " | ".join(storm["summary"])))
            results["boot_storm"] = storm
            storm_done = True
        b.stop_all()
        if n in (1, 10, 50):
            if usual is None:
                usual = UsualWay(b)
                usual.setup()
            itl = os.path.join(b.ndir("pub"), "tftp/ITLFile.tlv")
            usual.start_servers(n)
            ts = [usual.run(n, itl) for _ in range(3)]
            usual.stop_servers(n)
            entry["usual_runs_s"] = ts
            entry["usual_median_s"] = statistics.median(ts)
            entry["ratio"] = entry["usual_median_s"] / entry["median_total_s"]
            say("  the usual way (sftp + ssh restart, node after node, %d "
                "nodes): median %.3f s = %.1f x ours" %
                (n + 1, entry["usual_median_s"], entry["ratio"]))
        results["sizes"].append(entry)
        with open(os.path.join(b.out, "reset.json"), "w") as f:
            json.dump(results, f, indent=1)
    if usual:
        usual.close()
    with open(os.path.join(b.out, "reset.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        for b in BENCHES:
            b.stop_all()
        for u in USUALS:
            u.close()
