#!/bin/bash
# itl-admin node init and set cert regen on a state folder: prompts, the
# hold timer at 4:59 and 5:01 (driven by --now), and the files it changes.
set -euo pipefail
BIN=${ITL_BIN:?}/itl-admin
TMP=${ITL_TMP:-/tmp}/cert-regen.$$
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
export TZ=UTC
S=$TMP/pub
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'Cluster-Pass1\nAdmin-Pass9\n' | "$BIN" node init --state "$S" \
    --host pub1 --publisher --ou Voice --o Example --l Lisbon --st Lisboa \
    --c PT --bits 1024 --password-stdin >"$TMP/out"
grep -qx "Initialised publisher pub1 in $S." "$TMP/out" || fail "init output"
[ "$(stat -c %a "$S/keys/callmanager.key")" = 600 ] || fail "key mode"

# A second init is refused and changes nothing.
before=$(sha1sum "$S/keys/callmanager.key")
if printf 'x\ny\n' | "$BIN" node init --state "$S" --host pub1 --publisher \
    --bits 1024 --password-stdin 2>"$TMP/err"; then fail "re-init"; fi
grep -q "refusing to overwrite its keys" "$TMP/err" || fail "re-init msg"
[ "$before" = "$(sha1sum "$S/keys/callmanager.key")" ] || fail "changed"

# Without node.info the keys are still there: init is refused (exit 2),
# before any password is read, and changes nothing.
mv "$S/node.info" "$TMP/node.info"
p12=$(sha1sum <"$S/keys/ITLRecovery.p12")
rc=0
printf 'Other-Pass2\nAdmin-Pass9\n' | "$BIN" node init --state "$S" \
    --host pub1 --publisher --bits 1024 --password-stdin >"$TMP/out" \
    2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "init without node.info: exit $rc"
[ "$(cat "$TMP/err")" = "error: $S already holds keys or secrets of a node ($S/keys/callmanager.key exists) though it has no node.info; refusing to overwrite them; to start over, move the folder away (mv $S $S.old) and run init again" ] \
    || fail "init without node.info: $(cat "$TMP/err")"
[ "$p12" = "$(sha1sum <"$S/keys/ITLRecovery.p12")" ] || fail "p12 changed"
[ "$before" = "$(sha1sum "$S/keys/callmanager.key")" ] || fail "key changed"
[ ! -e "$S/node.info" ] || fail "node.info written"
mv "$TMP/node.info" "$S/node.info"

# "no" at the prompt changes nothing.
cm=$(sha1sum <"$S/keys/callmanager.pem")
if echo no | "$BIN" set cert regen CallManager --state "$S" \
    --now 1699963201 >"$TMP/out"; then fail "no accepted"; fi
grep -qx "Proceed with regeneration (yes|no)? " "$TMP/out" || fail "prompt"
grep -qx "Regeneration cancelled; nothing was changed." "$TMP/out" \
    || fail "cancel message"
[ "$cm" = "$(sha1sum <"$S/keys/callmanager.pem")" ] || fail "changed on no"

echo yes | "$BIN" set cert regen CallManager --state "$S" \
    --now 1699963201 >"$TMP/out"
grep -q "^Regenerated the CallManager certificate of pub1: CN=pub1" \
    "$TMP/out" || fail "regen output"
grep -qx "Restart the TFTP service of this node for its ITL to pick up the new certificate." \
    "$TMP/out" || fail "next step"
[ "$cm" = "$(sha1sum <"$S/keys/callmanager.pem.prev")" ] || fail "prev kept"
[ "$cm" != "$(sha1sum <"$S/keys/callmanager.pem")" ] || fail "not replaced"

# 4:59 later TVS is refused (exit 1); 5:01 later it is done.
tvs=$(sha1sum <"$S/keys/tvs.pem")
rc=0
"$BIN" set cert regen TVS --state "$S" --yes --now 1699963500 \
    2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "hold exit status $rc"
grep -qx "error: CallManager certificate was modified in the last 5 minutes (at 12:00:01); retry regenerating TVS after 12:05:01" \
    "$TMP/err" || fail "hold message: $(cat "$TMP/err")"
[ "$tvs" = "$(sha1sum <"$S/keys/tvs.pem")" ] || fail "tvs changed"
"$BIN" set cert regen TVS --state "$S" --yes --now 1699963502 >/dev/null
[ "$tvs" != "$(sha1sum <"$S/keys/tvs.pem")" ] || fail "tvs unchanged"

# Without --yes, a bogus name and the hold timer are refused before the
# question is asked; a negative or signed --now is no clock.
rs=$(sha1sum <"$S/regen.state")
rc=0
echo yes | "$BIN" set cert regen Bogus --state "$S" >"$TMP/out" \
    2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "bogus (asked) exit status $rc"
[ ! -s "$TMP/out" ] || fail "bogus name asked: $(cat "$TMP/out")"
[ "$(cat "$TMP/err")" = "error: unknown certificate 'Bogus'; expected CallManager, TVS, CAPF or ITLRecovery" ] \
    || fail "bogus (asked) message: $(cat "$TMP/err")"
rc=0
echo yes | "$BIN" set cert regen CallManager --state "$S" \
    --now 1699963600 >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "hold (asked) exit status $rc"
[ ! -s "$TMP/out" ] || fail "hold asked: $(cat "$TMP/out")"
[ "$(cat "$TMP/err")" = "error: TVS certificate was modified in the last 5 minutes (at 12:05:02); retry regenerating CallManager after 12:10:02" ] \
    || fail "hold (asked) message: $(cat "$TMP/err")"
for bad in -5 +5 " 5" 5x ""; do
    rc=0
    echo yes | "$BIN" set cert regen TVS --state "$S" --now "$bad" \
        >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" = 2 ] || fail "--now '$bad' exit status $rc"
    [ "$(cat "$TMP/err")" = "error: --now '$bad' is not a unix time (whole seconds since 1970, 0 or more)" ] \
        || fail "--now '$bad' message: $(cat "$TMP/err")"
done
# The same certificate with the clock set back is held as well.
rc=0
"$BIN" set cert regen TVS --state "$S" --yes --now 1699963000 \
    >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "clock back exit status $rc"
[ "$(cat "$TMP/err")" = "error: TVS certificate was modified in the last 5 minutes (at 12:05:02); retry regenerating TVS after 12:10:02" ] \
    || fail "clock back message: $(cat "$TMP/err")"
[ "$rs" = "$(sha1sum <"$S/regen.state")" ] || fail "regen.state changed"
[ "$tvs" != "$(sha1sum <"$S/keys/tvs.pem")" ] || fail "tvs unchanged"

rc=0
"$BIN" set cert regen Bogus --state "$S" --yes 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "bogus exit status $rc"
grep -qx "error: unknown certificate 'Bogus'; expected CallManager, TVS, CAPF or ITLRecovery" \
    "$TMP/err" || fail "bogus message"
# The node's own ITL, as show itl lists it: exactly these five records.
"$BIN" node itl --state "$S" --out "$TMP/ITLFile.tlv" \
    --timestamp 1700000000 >/dev/null
"$BIN" show itl --file "$TMP/ITLFile.tlv" >"$TMP/show"
grep -E "^(4 FUNCTION|9 CERTIFICATE|11 CERTHASH) |etoken" "$TMP/show" |
    sed -E 's/^(9 CERTIFICATE|11 CERTHASH) .*/\1/' >"$TMP/got"
cat >"$TMP/want" <<'WANT'
4 FUNCTION 2 System Administrator Security Token
9 CERTIFICATE
This etoken was used to sign the ITL file.
4 FUNCTION 2 CCM+TFTP
9 CERTIFICATE
4 FUNCTION 2 CAPF
11 CERTHASH
4 FUNCTION 2 TVS
11 CERTHASH
4 FUNCTION 2 System Administrator Security Token
9 CERTIFICATE
This etoken was not used to sign the ITL file.
WANT
diff "$TMP/want" "$TMP/got" || fail "show itl records"
grep -qx "3 SUBJECTNAME 63 CN=ITLRECOVERY_pub1;OU=Voice;O=Example;L=Lisbon;ST=Lisboa;C=PT" \
    "$TMP/show" || fail "recovery subject"
grep -qx "The ITL file was verified successfully." "$TMP/show" \
    || fail "signature"
echo "ok"
