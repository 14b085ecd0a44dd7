#!/bin/bash
# itl-admin's offline file commands on the real sample and on files built
# and re-signed with openssl-generated keys.
set -euo pipefail

ADMIN="$ITL_BIN/itl-admin"
SCF="$ITL_SAMPLES/itl/SCFFile.tlv"
T="$ITL_TMP/cli_itl.$$"
rm -rf "$T"
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
FAILS=0

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

# run NAME EXPECTED_RC CMD...: runs, keeps stdout/stderr in $T/NAME.out/.err
run() {
    local name=$1 want=$2 rc=0
    shift 2
    "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name: exit $rc, want $want"
        sed 's/^/  | /' "$T/$name.err" >&2
    fi
}

# has NAME LINE: the exact line is in $T/NAME.out
has() {
    grep -qxF -- "$2" "$T/$1.out" || fail "$1: missing line: $2"
}

# err_is NAME LINE: stderr is exactly LINE
err_is() {
    [ "$(cat "$T/$1.err")" = "$2" ] ||
        fail "$1: stderr is \"$(cat "$T/$1.err")\", want \"$2\""
}

# ---- show itl on the real file ----
run show 0 "$ADMIN" show itl --file "$SCF"
has show "The checksum value of the CTL file:"
has show "0c43d702a9bc273d1ba7e9512877ab6a(MD5)"
has show "7bc2b30ebc2c52dcb6af9389af7a32e4a65be824(SHA1)"
has show "Length of CTL file: 7166"
has show "Parse CTL File"
has show "Version: 1.2"
has show "HeaderLength: 312 (BYTES)"
has show "BYTEPOS TAG LENGTH VALUE"
has show "3 SIGNERID 2 127"
has show "4 SIGNERNAME 55 CN=gigantic-6.cisco.com;OU=VTG;O=Alpha;L=SJ;ST=CA;C=US"
has show "5 SERIALNUMBER 8 24:49:1F:10:70:3F:EA:9B"
has show "7 SIGNATUREINFO 2 15"
has show "9 SIGNATUREALGOINFO 2 8"
has show "8 DIGESTALGORITHM 1 SHA-1"
has show "12 SIGNATURE 128"
has show "35 6d f0 f8 aa f1 05 6e f7 ab 1b 5d 3e df 84 5e"
has show "14 FILENAME 12 CTLFile.tlv"
has show "15 TIMESTAMP 4 2015-05-07 03:10:47 UTC"
has show "CTL Record #:6"
has show "1 RECORDLENGTH 2 1143"
has show "4 FUNCTION 2 CAPF"
has show "6 SERIALNUMBER 16 5B:73:28:D0:A0:29:32:D8:16:D5:9E:EE:F6:EC:9D:18"
has show "9 CERTIFICATE 712 BD 3A AF C7 F3 E2 16 27 B5 2B 5B DD 7F B4 D0 7C 58 24 A7 68 (SHA1 Hash HEX)"
has show "10 IPADDRESS 4 10.35.48.106"
has show "This etoken was used to sign the CTL file."
has show "This etoken was not used to sign the CTL file."
has show "The CTL file was verified successfully."
grep -q "^The CTL File was last modified on " "$T/show.out" ||
    fail "show: no modification time"
[ "$(grep -c '^CTL Record #:' "$T/show.out")" = 6 ] ||
    fail "show: not six records"
[ "$(grep -c '^This etoken was used' "$T/show.out")" = 1 ] ||
    fail "show: not exactly one signing etoken"

# ---- --json ----
run json 0 "$ADMIN" show itl --file "$SCF" --json
python3 - "$T/json.out" <<'EOF' || fail "json: values"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["md5"] == "0c43d702a9bc273d1ba7e9512877ab6a", d["md5"]
assert d["sha1"] == "7bc2b30ebc2c52dcb6af9389af7a32e4a65be824"
assert d["length"] == 7166 and d["header_length"] == 312
assert d["version"] == "1.2" and d["digest"] == "SHA-1"
assert d["signature_valid"] is True and d["verify_error"] is None
assert d["signer"]["serial"] == "24:49:1F:10:70:3F:EA:9B"
assert d["signer"]["name"] == \
    "CN=gigantic-6.cisco.com;OU=VTG;O=Alpha;L=SJ;ST=CA;C=US"
assert d["signer"]["issuer"] == d["signer"]["name"]
r = d["records"]
assert [x["offset"] for x in r] == [312, 1459, 2606, 3777, 4862, 6023]
assert [x["length"] for x in r] == [1147, 1147, 1171, 1085, 1161, 1143]
assert [x["signed_this_file"] for x in r] == [True] + [False] * 5
assert r[3]["function"] == "CAPF" and r[0]["function_code"] == 0
assert r[4]["subject"].startswith("CN=ITLRECOVERY_gigantic-6.cisco.com;")
assert r[0]["certificate_sha1"] == \
    "bd3aafc7f3e21627b52b5bdd7fb4d07c5824a768"
assert all("cert_hash" not in x for x in r)
EOF

# ---- the corrupted and truncated files ----
xxd -r -p "$ITL_SAMPLES/itl/hex.tlv.txt" >"$T/hex.tlv"
run hex 1 "$ADMIN" show itl --file "$T/hex.tlv"
has hex "3 SIGNERID 2 0"
has hex "Note: offset 10: SIGNERID length 0 disagrees with the 127 bytes of elements it holds"
has hex "The CTL file could not be verified: the 128-byte SHA-1 signature at offset 158 does not verify with the key"
run hexjson 1 "$ADMIN" show itl --file "$T/hex.tlv" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
assert d["signature_valid"] is False and "offset 10" in d["warning"]' \
    "$T/hexjson.out" || fail "hexjson: values"

head -c 7000 "$SCF" >"$T/trunc.tlv"
run trunc 2 "$ADMIN" show itl --file "$T/trunc.tlv"
err_is trunc "itl-admin: $T/trunc.tlv: offset 6023: RECORDLENGTH 1143 runs past the end of the file at 7000 (truncated file)"
[ ! -s "$T/trunc.out" ] || fail "trunc: printed a listing"
: >"$T/empty.tlv"
run empty 2 "$ADMIN" show itl --file "$T/empty.tlv"
err_is empty "itl-admin: $T/empty.tlv: offset 0: empty file"
run missing 2 "$ADMIN" show itl --file "$T/nope.tlv"
run usage 2 "$ADMIN" show itl
run unknown 2 "$ADMIN" show ctl --file "$SCF"
grep -q '^itl-admin: unknown command "show ctl"$' "$T/unknown.err" ||
    fail "unknown: message"
grep -q '^usage: itl-admin COMMAND' "$T/unknown.err" || fail "unknown: usage"

# ---- keys and certificates ----
mkcert() { # mkcert NAME CN SERIAL BITS
    openssl req -x509 -newkey "rsa:$4" -nodes -days 365 \
        -subj "/C=US/ST=nc/L=rtp/O=cisco/OU=tac/CN=$2" -set_serial "$3" \
        -keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null
    chmod 600 "$T/$1.key"
}
mkcert pub test10pub.joemar2.lab 0x614052E91EE97C779B7B5E810AB146A5 1024
mkcert rec ITLRECOVERY_test10pub.lab.abcd 0x6E3F65C297B3E01FE74281AB52CC55DC 1024
mkcert tvs tvs.lab 0x7659 2048
# Same name and serial as rec, another key: an impostor.
mkcert fake ITLRECOVERY_test10pub.lab.abcd 0x6E3F65C297B3E01FE74281AB52CC55DC 1024

# ---- resign itl on the real file ----
run resign 0 "$ADMIN" resign itl --file "$SCF" --key "$T/pub.key" \
    --cert "$T/pub.pem" --out "$T/scf-pub.tlv"
has resign "HeaderLength: 324 (BYTES)"
has resign "Length: 7178"
has resign "SHA1: $(sha1sum "$T/scf-pub.tlv" | cut -d' ' -f1)"
cmp <(tail -c +313 "$SCF") <(tail -c +325 "$T/scf-pub.tlv") ||
    fail "resign: records changed"
run resign66 0 "$ADMIN" resign itl --file "$SCF" --key "$T/rec.key" \
    --cert "$T/rec.pem" --out "$T/scf-rec.tlv" --digest sha256
has resign66 "HeaderLength: 344 (BYTES)"
run show_rec 1 "$ADMIN" show itl --file "$T/scf-rec.tlv"
has show_rec "3 SIGNERID 2 157"
has show_rec "8 DIGESTALGORITHM 1 SHA-256"
has show_rec "The CTL file could not be verified: no SAST record matches the signer named in the header"
run verify_scf 1 "$ADMIN" verify itl --file "$T/scf-pub.tlv" --trust "$SCF"
has verify_scf "$T/scf-pub.tlv is refused: signer CN=test10pub.joemar2.lab;OU=tac;O=cisco;L=rtp;ST=nc;C=US serial 61:40:52:E9:1E:E9:7C:77:9B:7B:5E:81:0A:B1:46:A5 is not a SAST record of $SCF that carries a certificate"

# ---- build, then the recovery re-sign a phone accepts ----
run build 0 "$ADMIN" build itl --key "$T/pub.key" --cert "$T/pub.pem" \
    --out "$T/held.tlv" --record "sast=$T/pub.pem" \
    --record "ccm+tftp=$T/pub.pem" --record "tvs=$T/tvs.pem,hash" \
    --record "sast=$T/rec.pem"
has build "HeaderLength: 324 (BYTES)"
run show_held 0 "$ADMIN" show itl --file "$T/held.tlv"
has show_held "4 FUNCTION 2 TVS"
has show_held "12 HASH ALGORITHM 1 SHA-1"
has show_held "The ITL file was verified successfully."
run resign_held 0 "$ADMIN" resign itl --file "$T/held.tlv" \
    --key "$T/rec.key" --cert "$T/rec.pem" --out "$T/new.tlv"
has resign_held "HeaderLength: 344 (BYTES)"
run verify_ok 0 "$ADMIN" verify itl --file "$T/new.tlv" --trust "$T/held.tlv"
has verify_ok "A phone holding $T/held.tlv accepts $T/new.tlv: signed by CN=ITLRECOVERY_test10pub.lab.abcd;OU=tac;O=cisco;L=rtp;ST=nc;C=US serial 6E:3F:65:C2:97:B3:E0:1F:E7:42:81:AB:52:CC:55:DC, SAST record #4 of $T/held.tlv."
run show_new 0 "$ADMIN" show itl --file "$T/new.tlv" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
assert d["signature_valid"] and d["signer"]["record"] == 3
assert [r["signed_this_file"] for r in d["records"]] == [0, 0, 0, 1]
assert d["records"][2]["cert_hash"] and "certificate_sha1" not in d["records"][2]' \
    "$T/show_new.out" || fail "show_new: values"
run verify_wrong 1 "$ADMIN" verify itl --file "$T/new.tlv" --trust "$SCF"
grep -q "is not a SAST record of $SCF" "$T/verify_wrong.out" ||
    fail "verify_wrong: reason"
[ ! -s "$T/resign_held.err" ] || fail "resign_held: a warning"
run resign_fake 0 "$ADMIN" resign itl --file "$T/held.tlv" \
    --key "$T/fake.key" --cert "$T/fake.pem" --out "$T/fake.tlv"
# Same name and serial as SAST record #4, another certificate: warned.
err_is resign_fake "itl-admin: warning: no SAST record of $T/held.tlv carries the certificate $T/fake.pem, so phones that install $T/fake.tlv cannot verify a later file signed with it"
err_is resign "itl-admin: warning: no SAST record of $SCF carries the certificate $T/pub.pem, so phones that install $T/scf-pub.tlv cannot verify a later file signed with it"
run verify_fake 1 "$ADMIN" verify itl --file "$T/fake.tlv" --trust "$T/held.tlv"
has verify_fake "$T/fake.tlv is refused: its signature does not verify with SAST record #4 of $T/held.tlv (CN=ITLRECOVERY_test10pub.lab.abcd;OU=tac;O=cisco;L=rtp;ST=nc;C=US serial 6E:3F:65:C2:97:B3:E0:1F:E7:42:81:AB:52:CC:55:DC): the 128-byte SHA-1 signature at offset 188 does not verify with the key"
run verify_bad 2 "$ADMIN" verify itl --file "$T/trunc.tlv" --trust "$T/held.tlv"

# ---- resign refusals change nothing ----
chmod 644 "$T/rec.key"
run open_key 2 "$ADMIN" resign itl --file "$T/held.tlv" --key "$T/rec.key" \
    --cert "$T/rec.pem" --out "$T/x.tlv"
grep -q "chmod 600 $T/rec.key" "$T/open_key.err" || fail "open_key: message"
chmod 600 "$T/rec.key"
run mismatch 2 "$ADMIN" resign itl --file "$T/held.tlv" --key "$T/rec.key" \
    --cert "$T/pub.pem" --out "$T/x.tlv"
err_is mismatch "itl-admin: cannot re-sign $T/held.tlv with $T/rec.key and $T/pub.pem: the key does not match the certificate"
run baddigest 2 "$ADMIN" resign itl --file "$T/held.tlv" --key "$T/rec.key" \
    --cert "$T/rec.pem" --out "$T/x.tlv" --digest md5
[ ! -e "$T/x.tlv" ] || fail "a refused resign wrote its output"
# A certificate given as the key is named as such (whatever its mode).
run certkey 2 "$ADMIN" resign itl --file "$T/held.tlv" --key "$T/rec.pem" \
    --cert "$T/rec.pem" --out "$T/x.tlv"
err_is certkey "itl-admin: $T/rec.pem is a certificate, not a private key; give the key file with --key and the certificate with --cert"
[ ! -e "$T/x.tlv" ] || fail "certkey wrote its output"
# --out naming the input (by another path too) is refused unless --force.
cp "$T/new.tlv" "$T/same.tlv"
ln -s same.tlv "$T/link.tlv"
before=$(sha1sum <"$T/same.tlv")
for out in "$T/same.tlv" "$T/link.tlv" "$T/../$(basename "$T")/same.tlv"; do
    run sameout 2 "$ADMIN" resign itl --file "$T/same.tlv" \
        --key "$T/rec.key" --cert "$T/rec.pem" --out "$out"
    err_is sameout "itl-admin: --out $out is the input file $T/same.tlv; give another --out, or add --force to replace the input"
    [ "$before" = "$(sha1sum <"$T/same.tlv")" ] || fail "sameout: changed"
done
run sameforce 0 "$ADMIN" resign itl --file "$T/same.tlv" \
    --key "$T/rec.key" --cert "$T/rec.pem" --out "$T/same.tlv" --force \
    --digest sha256
has sameforce "Re-signed $T/same.tlv as $T/same.tlv (SHA-256)"
[ "$before" != "$(sha1sum <"$T/same.tlv")" ] || fail "sameforce: unchanged"

if [ "$FAILS" -gt 0 ]; then
    echo "$FAILS check(s) failed" >&2
    exit 1
fi
echo "all itl-admin file command checks passed"
