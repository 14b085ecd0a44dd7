#!/bin/bash
# Password prompts on a real terminal (a pty): ^C, ^\ and ^Z at a prompt
# give the terminal back with echo on, as `stty -a` in the same pty shows;
# after a stop and a continue the prompt hides the input again.
set -euo pipefail
BIN=${ITL_BIN:?}
TMP=${ITL_TMP:-/tmp}/prompt-tty.$$
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/pub.conf" <<CONF
role = publisher
hostname = pub1
state_dir = $TMP/pubstate
tftp = no
key_bits = 1024
CONF

cat >"$TMP/drive.py" <<'PY'
import fcntl, os, select, signal, subprocess, sys, termios, time

def read_until(fd, want, seconds=10):
    got, end = b"", time.time() + seconds
    while want not in got:
        left = end - time.time()
        if left <= 0:
            sys.exit("no %r on the terminal; got %r" % (want, got))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            got += os.read(fd, 4096)
    return got

def stty(slave):
    out = subprocess.run(["stty", "-a"], stdin=slave, capture_output=True,
                         text=True, check=True).stdout
    return "echo" if " echo " in " " + out.replace("\n", " ") + " " \
        else "-echo"

# The session leader on the pty: runs the program as the foreground job
# of its own process group (so that ^Z may stop it: the stop signals of an
# orphaned group are dropped), writes its pid to PIDFILE and exits with
# 128 + the signal that ended it.
LEADER = r"""
import os, signal, sys
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTTOU, signal.SIG_DFL)
    os.execv(sys.argv[2], sys.argv[2:])
os.setpgid(pid, pid)
os.tcsetpgrp(0, pid)
with open(sys.argv[1], "w") as f:
    f.write(str(pid))
_, st = os.waitpid(pid, 0)
sys.exit(128 + os.WTERMSIG(st) if os.WIFSIGNALED(st) else
         os.WEXITSTATUS(st))
"""

def run(key, prompt, argv):
    master, slave = os.openpty()
    def ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    pidfile = os.environ["PIDFILE"]
    p = subprocess.Popen([sys.executable, "-c", LEADER, pidfile] + argv,
                         stdin=slave, stdout=slave, stderr=slave,
                         preexec_fn=ctty)
    read_until(master, prompt.encode())
    with open(pidfile) as f:
        prog = int(f.read())
    time.sleep(0.2)
    state = []
    state.append(stty(slave))            # at the prompt: echo off
    if key == "^Z":
        os.write(master, b"\x1a")
        deadline = time.time() + 10
        while True:
            with open("/proc/%d/stat" % prog) as f:
                if f.read().split(") ")[1][0] == "T":
                    break
            if time.time() > deadline:
                sys.exit("^Z did not stop the program")
            time.sleep(0.05)
        state.append(stty(slave))        # stopped: echo on
        os.kill(prog, signal.SIGCONT)
        time.sleep(0.3)
        state.append(stty(slave))        # continued: echo off again
        key = "^C"
    os.write(master, {"^C": b"\x03", "^\\": b"\x1c"}[key])
    rc = p.wait(10)
    state.append(stty(slave))            # after the program: echo on
    os.close(master)
    os.close(slave)
    print(" ".join(state), rc)

run(sys.argv[1], sys.argv[2], sys.argv[3:])
PY

fail() { echo "FAIL: $*" >&2; exit 1; }
drive() { PIDFILE=$TMP/pid python3 "$TMP/drive.py" "$@"; }

got=$(drive '^C' "Cluster security password: " "$BIN/itl-admin" node init \
    --state "$TMP/s1" --host pub1 --publisher --bits 1024)
[ "$got" = "-echo echo 130" ] || fail "node init ^C: $got"
[ ! -e "$TMP/s1" ] || fail "node init ^C created the state folder"

got=$(drive '^C' "Enter the cluster security password: " \
    "$BIN/itl-publisher" --config "$TMP/pub.conf" init)
[ "$got" = "-echo echo 130" ] || fail "itl-publisher init ^C: $got"
[ ! -e "$TMP/pubstate" ] || fail "itl-publisher init ^C created state"

got=$(drive '^\' "Current cluster security password: " "$BIN/itl-admin" \
    set password cluster --state "$TMP/s1")
[ "$got" = "-echo echo 131" ] || fail "set password cluster ^\\: $got"

got=$(drive '^Z' "Enter the cluster security password: " \
    "$BIN/itl-publisher" --config "$TMP/pub.conf" init)
[ "$got" = "-echo echo -echo echo 130" ] || fail "itl-publisher init ^Z: $got"
echo ok
