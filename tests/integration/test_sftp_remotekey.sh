#!/bin/bash
# utils itl reset remotekey against a real OpenSSH sshd on a three-node
# loopback cluster: refused on a subscriber, failures that leave the local
# key file byte-identical (missing file, wrong SFTP password, a p12 of
# another cluster password, a corrupt file, a wrong administrator
# password), then a real reset with the saved key that replaces the local
# one, and set password cluster.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root to create the test user and run sshd"
    exit 0
fi
SRC=${ITL_SRC:?}
BIN=${ITL_BIN:?}
TMP=${ITL_TMP:-/tmp}/sftp-remotekey.$$
SSHD_DIR=$TMP/sshd
. "$SRC/tests/integration/sftp_server.sh"
export ITL_CLUSTER_DIR=$TMP/cluster ITL_BIN=$BIN ITL_BASE_IP=127.0.0.40
export ITL_CLUSTER_PORT=7440 ITL_KEY_BITS=1024
ADMIN_PW=lab-admin-password
CLUSTER_PW=lab-cluster-security-password
LC=$SRC/deploy/local-cluster
KH=$TMP/known_hosts
PUB=$ITL_CLUSTER_DIR/pub/state
KEY=$PUB/keys/ITLRecovery.p12

cleanup() {
    "$LC" stop >/dev/null 2>&1 || true
    sftp_sshd_stop
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
remotekey() { # path [sftp password] [admin password]
    printf '%s\n%s\n' "${2:-$SFTP_PASS}" "${3:-$ADMIN_PW}" |
        admin pub utils itl reset remotekey "127.0.0.1:$SSHD_PORT" \
            "$SFTP_USER" "$1" --password-stdin --known-hosts "$KH" \
            --accept-new-host-key
}
refused() { # what exit path [sftp pw] [admin pw]: fails, key unchanged
    local what=$1 code=$2 rc=0
    shift 2
    remotekey "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" = "$code" ] || fail "$what: exit $rc: $(cat "$TMP/err")"
    [ "$(sha "$KEY")" = "$key_sha" ] || fail "$what: key file changed"
    [ ! -e "$KEY.prev" ] || fail "$what: a .prev appeared"
}

mkdir -p "$TMP"
sftp_user_create
install -d -o "$SFTP_USER" -m 700 "$SFTP_HOME/backup"
sftp_sshd_start password
"$LC" start 3 >/dev/null
"$LC" wait >/dev/null

# The key as it is now goes to the SFTP server: the saved copy.
printf '%s\n' "$SFTP_PASS" | admin pub file get tftp ITLRecovery.p12 \
    --host 127.0.0.1 --port "$SSHD_PORT" --user "$SFTP_USER" --dir backup \
    --password-stdin --known-hosts "$KH" --accept-new-host-key >/dev/null
saved=$SFTP_HOME/backup/ITLRecovery.p12
saved_sha=$(sha "$saved")
for n in pub sub1 sub2; do "$LC" fetch $n "$TMP/$n.before.tlv" >/dev/null; done

# The publisher loses its key: regenerated (as on a rebuilt publisher),
# and its TFTP service restarted so that its ITL names the new one.
admin pub set cert regen ITLRecovery --state "$PUB" --yes >/dev/null
admin pub utils service restart tftp >/dev/null
"$LC" wait >/dev/null
key_sha=$(sha "$KEY")
rm -f "$KEY.prev"
[ "$key_sha" != "$saved_sha" ] || fail "regen did not change the key"
rc=0; admin pub show backup >"$TMP/out" || rc=$?
[ "$rc" = 1 ] || fail "backup still counted after regen"
want "$TMP/out" "ITLRecovery.p12 is not backed up (it changed since the last backup); run: itl-admin file get tftp ITLRecovery.p12"

# A subscriber refuses before asking anything (stdin is not read).
rc=0
admin sub1 utils itl reset remotekey 127.0.0.1 "$SFTP_USER" backup \
    >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
[ "$rc" = 1 ] || fail "subscriber exit $rc"
[ "$(cat "$TMP/err")" = "This is not a publisher node" ] \
    || fail "subscriber said: $(cat "$TMP/err")"

refused "missing file" 2 nothere
want "$TMP/err" "itl-admin: SFTP server 127.0.0.1:$SSHD_PORT: no such file or folder: nothere"
want "$TMP/err" "Nothing was changed."

refused "wrong SFTP password" 2 backup wrong-password
want "$TMP/err" "itl-admin: SFTP server 127.0.0.1:$SSHD_PORT refused the password of user '$SFTP_USER' (password log-in)"

# A key file saved under another cluster security password.
printf 'another-cluster-password\n%s\n' "$ADMIN_PW" | "$BIN/itl-admin" \
    node init --state "$TMP/other" --host other --publisher --bits 1024 \
    --password-stdin >/dev/null
install -d -o "$SFTP_USER" "$SFTP_HOME/other"
install -o "$SFTP_USER" -m 600 "$TMP/other/keys/ITLRecovery.p12" \
    "$SFTP_HOME/other/ITLRecovery.p12"
refused "other cluster password" 1 other
from="$SFTP_USER@127.0.0.1:$SSHD_PORT:other/ITLRecovery.p12"
want "$TMP/out" "Downloaded $from ($(stat -c %s "$TMP/other/keys/ITLRecovery.p12") bytes)."
want "$TMP/err" "the key file fetched from $from does not open with this cluster's security password: it was saved under another cluster security password. Nothing was changed."

# A key of this cluster's password, but whose certificate no phone holds
# (another publisher's, or one regenerated and never served).
printf '%s\n%s\n' "$CLUSTER_PW" "$ADMIN_PW" | "$BIN/itl-admin" \
    node init --state "$TMP/stranger" --host pub --publisher --bits 1024 \
    --password-stdin >/dev/null
install -d -o "$SFTP_USER" "$SFTP_HOME/stranger"
install -o "$SFTP_USER" -m 600 "$TMP/stranger/keys/ITLRecovery.p12" \
    "$SFTP_HOME/stranger/ITLRecovery.p12"
stranger_sha1=$(openssl pkcs12 -in "$TMP/stranger/keys/ITLRecovery.p12" \
    -passin "pass:$(cat "$TMP/stranger/secrets/p12.pass")" -nokeys \
    -clcerts 2>/dev/null | openssl x509 -outform DER | sha1sum | cut -c1-40)
refused "a key no phone knows" 1 stranger
want "$TMP/err" "the fetched key's certificate (SHA1 $stranger_sha1) is in no ITL this cluster has served, so phones would refuse an ITL signed with it (a backup of another cluster, or of a key never put in service?). Nothing was changed."

# A damaged file (the saved one cut short), given as the file itself.
head -c 1000 "$saved" >"$SFTP_HOME/other/cut.p12"
chown "$SFTP_USER" "$SFTP_HOME/other/cut.p12"
refused "corrupt file" 1 other/cut.p12
want "$TMP/err" "the key file fetched from $SFTP_USER@127.0.0.1:$SSHD_PORT:other/cut.p12 is not a PKCS#12 file (corrupt or truncated). Nothing was changed."

refused "wrong administrator password" 1 backup "$SFTP_PASS" wrong-admin
want "$TMP/err" "Wrong administrator password"
sleep 3 # the wrong-password lock-out

# The real reset with the saved key, on every node.
remotekey backup >"$TMP/out" 2>"$TMP/err" || fail "remotekey: $(cat "$TMP/err")"
from="$SFTP_USER@127.0.0.1:$SSHD_PORT:backup/ITLRecovery.p12"
want "$TMP/out" "Downloaded $from ($(stat -c %s "$saved") bytes)."
want "$TMP/out" "Opened the key file fetched from $from (certificate CN=ITLRECOVERY_pub)."
grep -q "^Reset complete: all 3 active TFTP nodes serve the reset ITL" \
    "$TMP/out" || fail "reset not complete: $(cat "$TMP/out")"
want "$TMP/out" "The fetched ITLRecovery.p12 replaced the local key file; the previous one is kept as ITLRecovery.p12.prev."
[ "$(sha "$KEY")" = "$saved_sha" ] || fail "key file not replaced"
[ "$(sha "$KEY.prev")" = "$key_sha" ] || fail "previous key not kept"
[ "$(stat -c %a "$KEY")" = 600 ] || fail "key mode"
want "$PUB/backup.state" "sha256=$saved_sha"
want "$PUB/backup.state" "where=$from"
want "$PUB/backup.state" "how=fetched"
admin pub show backup >/dev/null || fail "fetched key not counted as saved"
# Phones holding each node's old ITL accept what it serves now.
for n in pub sub1 sub2; do
    "$LC" fetch $n "$TMP/$n.after.tlv" >/dev/null
    "$BIN/itl-admin" verify itl --file "$TMP/$n.after.tlv" \
        --trust "$TMP/$n.before.tlv" >"$TMP/verify" \
        || fail "$n: a phone would refuse the reset ITL: $(cat "$TMP/verify")"
    grep -q "signed by CN=ITLRECOVERY_pub;" "$TMP/verify" || fail "$n signer"
done

# set password cluster: a wrong current password changes nothing.
pass_sha=$(sha "$PUB/secrets/p12.pass")
enrol_sha=$(sha "$PUB/secrets/enrol.key")
key_sha=$(sha "$KEY")
rc=0
printf 'not-the-password\nnew-cluster-password\n' | "$BIN/itl-admin" set \
    password cluster --state "$PUB" --password-stdin >"$TMP/out" \
    2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "wrong cluster password exit $rc"
want "$TMP/err" "itl-admin: wrong current cluster security password for the node in $PUB; nothing was changed"
[ "$(sha "$KEY")" = "$key_sha" ] || fail "key changed"
[ "$(sha "$PUB/secrets/p12.pass")" = "$pass_sha" ] || fail "pass changed"
printf '%s\nnew-cluster-password\n' "$CLUSTER_PW" | "$BIN/itl-admin" set \
    password cluster --state "$PUB" --password-stdin >"$TMP/out"
grep -q "^Changed the cluster security password of the node in $PUB:" \
    "$TMP/out" || fail "change output"
[ "$(sha "$KEY")" != "$key_sha" ] || fail "key not re-encrypted"
[ "$(sha "$KEY.prev")" = "$key_sha" ] || fail "old key not kept"
[ "$(sha "$PUB/secrets/p12.pass")" != "$pass_sha" ] || fail "pass same"
[ "$(sha "$PUB/secrets/enrol.key")" != "$enrol_sha" ] || fail "enrol same"
# The new key file opens with the new derived password only.
newpass=$(cat "$PUB/secrets/p12.pass")
openssl pkcs12 -in "$KEY" -passin "pass:$newpass" -nokeys \
    -noout 2>/dev/null || fail "new p12 does not open"
rc=0; admin pub show backup >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "backup still counted after the password change"
# The saved copy is now of another cluster password.
key_sha=$(sha "$KEY")
rm -f "$KEY.prev"
refused "saved copy after the change" 1 backup
want "$TMP/err" "the key file fetched from $from does not open with this cluster's security password: it was saved under another cluster security password. Nothing was changed."
echo ok
