#!/bin/bash
# file get tftp ITLRecovery.p12 against a real OpenSSH sshd: host-key
# questions (no, then yes; a changed key), password and keyboard-
# interactive log-ins, a server with no usable method, wrong password,
# connection refused, a silent server, and the recorded backup state.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root to create the test user and run sshd"
    exit 0
fi
SRC=${ITL_SRC:?}
BIN=${ITL_BIN:?}
TMP=${ITL_TMP:-/tmp}/sftp-backup.$$
SSHD_DIR=$TMP/sshd
. "$SRC/tests/integration/sftp_server.sh"
export ITL_CLUSTER_DIR=$TMP/cluster ITL_BIN=$BIN ITL_BASE_IP=127.0.0.40
export ITL_CLUSTER_PORT=7440 ITL_KEY_BITS=1024
LC=$SRC/deploy/local-cluster
KH=$TMP/known_hosts
KEY=$ITL_CLUSTER_DIR/pub/state/keys/ITLRecovery.p12
STALL_PID=

cleanup() {
    "$LC" stop >/dev/null 2>&1 || true
    sftp_sshd_stop
    [ -n "$STALL_PID" ] && kill "$STALL_PID" 2>/dev/null || true
    sftp_user_remove
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
want() { # file exact-line
    grep -qxF -- "$2" "$1" || fail "expected in $1: $2
--- got:
$(cat "$1")"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
admin() { "$LC" admin "$@"; }
get() { # extra args...; stdin from the caller
    admin pub file get tftp ITLRecovery.p12 --host 127.0.0.1 \
        --port "$SSHD_PORT" --user "$SFTP_USER" --password-stdin \
        --known-hosts "$KH" "$@"
}

mkdir -p "$TMP"
sftp_user_create
install -d -o "$SFTP_USER" -m 700 "$SFTP_HOME/backup"
sftp_sshd_start password
"$LC" start 3 >/dev/null
"$LC" wait >/dev/null
key_sha=$(sha "$KEY")
fp=$(ssh-keygen -lf "$SSHD_DIR/host_ed25519.pub" | cut -d' ' -f2)

# The publisher warns at start that the key has never been backed up.
for _ in $(seq 1 50); do
    grep -q "has never been backed up.*Back it up with: itl-admin file get tftp ITLRecovery.p12" \
        "$ITL_CLUSTER_DIR/pub/agent.log" && break
    sleep 0.1
done || true
grep -q "has never been backed up.*Back it up with: itl-admin file get tftp ITLRecovery.p12" \
    "$ITL_CLUSTER_DIR/pub/agent.log" || fail "no start-up warning"
rc=0; admin pub show backup >"$TMP/out" || rc=$?
[ "$rc" = 1 ] || fail "backup-status before: $rc"

# An unknown host key answered no: nothing is sent or recorded.
rc=0
printf '%s\nno\n' "$SFTP_PASS" | get --dir backup >"$TMP/out" 2>"$TMP/err" \
    || rc=$?
[ "$rc" = 1 ] || fail "host key no: exit $rc"
want "$TMP/err" "Its ssh-ed25519 host key fingerprint is $fp."
want "$TMP/err" "itl-admin: the host key of the SFTP server 127.0.0.1:$SSHD_PORT ($fp) was not accepted; nothing was transferred"
[ ! -e "$SFTP_HOME/backup/ITLRecovery.p12" ] || fail "uploaded after no"
[ ! -s "$KH" ] || fail "known hosts written after no"
[ ! -e "$ITL_CLUSTER_DIR/pub/state/backup.state" ] || fail "recorded"

# Answered yes: trusted, recorded in the known hosts, uploaded, recorded.
printf '%s\nyes\n' "$SFTP_PASS" | get --dir backup >"$TMP/out" 2>"$TMP/err"
size=$(stat -c %s "$KEY")
where="$SFTP_USER@127.0.0.1:$SSHD_PORT:backup/ITLRecovery.p12"
want "$TMP/out" "Transferred ITLRecovery.p12 to $where: $size bytes sent."
want "$TMP/out" "Recorded the backup of ITLRecovery.p12 to $where."
[ "$(sha "$SFTP_HOME/backup/ITLRecovery.p12")" = "$key_sha" ] \
    || fail "remote copy differs"
grep -q "^\[127.0.0.1\]:$SSHD_PORT ssh-ed25519 " "$KH" || fail "known hosts"
state=$ITL_CLUSTER_DIR/pub/state/backup.state
want "$state" "sha256=$key_sha"
want "$state" "where=$where"
want "$state" "how=upload"
t=$(sed -n 's/^time=//p' "$state")
[ $(( $(date +%s) - t )) -lt 60 ] || fail "backup time $t"
admin pub show backup >"$TMP/out"
grep -q "^ITLRecovery.p12 is backed up: $where at " "$TMP/out" \
    || fail "status after backup"

# Every detail asked in turn (script mode: one stdin line each); the host
# key is known now, so nothing is asked about it.
install -d -o "$SFTP_USER" -m 700 "$SFTP_HOME/second"
printf '127.0.0.1\n%s\n%s\n%s\nsecond\n' "$SSHD_PORT" "$SFTP_USER" \
    "$SFTP_PASS" | admin pub file get tftp ITLRecovery.p12 \
    --password-stdin --known-hosts "$KH" >"$TMP/out" 2>"$TMP/err"
for q in "SFTP server: " "SFTP port [22]: " "User ID: " "Directory: "; do
    grep -qF "$q" "$TMP/err" || fail "not asked: $q"
done
want "$TMP/out" "Transferred ITLRecovery.p12 to $SFTP_USER@127.0.0.1:$SSHD_PORT:second/ITLRecovery.p12: $size bytes sent."

# A subscriber has no such file.
rc=0
admin sub1 file get tftp ITLRecovery.p12 </dev/null >"$TMP/out" \
    2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "subscriber exit $rc"
want "$TMP/err" "ITLRecovery.p12: file not found on this node (the recovery key file is kept on the publisher)"

# Wrong SFTP password.
rc=0
printf 'wrong-password\n' | get --dir backup >"$TMP/out" 2>"$TMP/err" \
    || rc=$?
[ "$rc" = 2 ] || fail "wrong password exit $rc"
want "$TMP/err" "itl-admin: SFTP server 127.0.0.1:$SSHD_PORT refused the password of user '$SFTP_USER' (password log-in)"

# A folder that does not exist, and one the user cannot write.
rc=0
printf '%s\n' "$SFTP_PASS" | get --dir nothere >"$TMP/out" 2>"$TMP/err" \
    || rc=$?
[ "$rc" = 2 ] || fail "missing folder exit $rc"
want "$TMP/err" "itl-admin: SFTP server 127.0.0.1:$SSHD_PORT: no such file or folder: nothere/ITLRecovery.p12.part"
rc=0
printf '%s\n' "$SFTP_PASS" | get --dir /root >"$TMP/out" 2>"$TMP/err" \
    || rc=$?
[ "$rc" = 2 ] || fail "no permission exit $rc"
want "$TMP/err" "itl-admin: SFTP server 127.0.0.1:$SSHD_PORT: permission denied writing /root/ITLRecovery.p12.part"

# The server's host key changes: refused loudly, naming the file.
sftp_sshd_stop
old_port=$SSHD_PORT
sftp_sshd_start password "$SSHD_DIR/host_other"
sed -i "s/^\[127.0.0.1\]:$old_port /[127.0.0.1]:$SSHD_PORT /" "$KH"
newfp=$(ssh-keygen -lf "$SSHD_DIR/host_other.pub" | cut -d' ' -f2)
rc=0
printf '%s\nyes\n' "$SFTP_PASS" | get --dir backup >"$TMP/out" \
    2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "changed key exit $rc"
want "$TMP/err" "itl-admin: HOST KEY CHANGED: the SFTP server 127.0.0.1:$SSHD_PORT shows ssh-ed25519 key $newfp, which does not match the key recorded for it in $KH. Someone may be impersonating the server. If its key was replaced on purpose, delete its line from $KH and try again."
sftp_sshd_stop

# Keyboard-interactive only (PAM): the password answers the prompt.
sftp_sshd_start kbdint
printf '%s\n' "$SFTP_PASS" | get --dir backup --accept-new-host-key \
    >"$TMP/out" 2>"$TMP/err" || fail "kbdint upload: $(cat "$TMP/err")"
want "$TMP/out" "Transferred ITLRecovery.p12 to $SFTP_USER@127.0.0.1:$SSHD_PORT:backup/ITLRecovery.p12: $size bytes sent."
rc=0
printf 'wrong-password\n' | get --dir backup >"$TMP/out" 2>"$TMP/err" \
    || rc=$?
[ "$rc" = 2 ] || fail "kbdint wrong password exit $rc"
want "$TMP/err" "itl-admin: SFTP server 127.0.0.1:$SSHD_PORT refused the password of user '$SFTP_USER' (keyboard-interactive log-in)"
sftp_sshd_stop

# Public key only: the error says what the server offers and what was tried.
sftp_sshd_start publickey
rc=0
printf '%s\n' "$SFTP_PASS" | get --dir backup --accept-new-host-key \
    >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "publickey exit $rc"
want "$TMP/err" "itl-admin: SFTP server 127.0.0.1:$SSHD_PORT offers no log-in method this tool can use: it offers publickey; tried password and keyboard-interactive"
sftp_sshd_stop

# Nothing listening.
port=$(free_port)
rc=0
printf '%s\n' "$SFTP_PASS" | admin pub file get tftp ITLRecovery.p12 \
    --host 127.0.0.1 --port "$port" --user "$SFTP_USER" --dir backup \
    --password-stdin --known-hosts "$KH" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "refused exit $rc"
grep -q "^itl-admin: SFTP server 127.0.0.1:$port: failed while connecting: .*[Cc]onnection refused" \
    "$TMP/err" || fail "refused message: $(cat "$TMP/err")"

# A server that accepts and never speaks: bounded by --timeout.
port=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)' "$port" &
STALL_PID=$!
sleep 0.3
start=$(date +%s)
rc=0
printf '%s\n' "$SFTP_PASS" | admin pub file get tftp ITLRecovery.p12 \
    --host 127.0.0.1 --port "$port" --user "$SFTP_USER" --dir backup \
    --password-stdin --known-hosts "$KH" --timeout 2 >"$TMP/out" \
    2>"$TMP/err" || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" = 2 ] || fail "silent server exit $rc"
want "$TMP/err" "itl-admin: the SFTP server 127.0.0.1:$port did not answer within 2 s while connecting"
[ "$took" -le 8 ] || fail "silent server took $took s"

# None of this touched the key file.
[ "$(sha "$KEY")" = "$key_sha" ] || fail "key file changed"
echo ok
