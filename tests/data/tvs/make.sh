#!/bin/bash
# Writes the TVS protocol cases listed in ./index as hex text files (one
# message each; whitespace is ignored by the reader). The three test
# certificates cert-*.hex are self-signed P-256 certificates made once with
# openssl; ./set says which of them the test TVS knows, with which roles.
# Run it from anywhere; it writes beside itself.
set -euo pipefail
cd "$(dirname "$0")"

hex() { tr -d ' \n' <<<"$*"; }
# u16 N: N as 4 hex digits.
u16() { printf '%04x' "$1"; }
# elem TAG HEX: one element.
elem() {
    local v
    v=$(hex "$2")
    printf '%02x%s%s' "$1" "$(u16 $((${#v} / 2)))" "$v"
}
# msg CMD SESSION BODYHEX [LEN]: header (with the body's length, or LEN)
# and body.
msg() {
    local b
    b=$(hex "$3")
    printf '57 01 %02x 00 %08x %s\n%s\n' "$1" "$((16#$2))" "$(u16 "${4:-$((${#b} / 2))}")" \
        "$b" | fold -w 64
}
# text S: S as hex.
text() { printf '%s' "$1" | xxd -p | tr -d '\n'; }

CCM=$(hex "$(cat cert-ccm.hex)")
REC=$(hex "$(cat cert-recovery.hex)")
UNK=$(hex "$(cat cert-unknown.hex)")
DEV=$(elem 1 "01$(text CP-7975-SEP001122334455)")
TTL=$(elem 9 00000e10)

# Valid requests and the answers of a TVS knowing ./set, TTL 3600.
msg 1 00000001 "$DEV $(elem 2 "$CCM")" >verify-ccm.req
msg 2 00000001 "$(elem 7 00) $(elem 8 0215) $TTL" >verify-ccm.resp
msg 1 deadbeef "$(elem 2 "$REC") $DEV" >verify-recovery.req
msg 2 deadbeef "$(elem 7 00) $(elem 8 00) $TTL" >verify-recovery.resp
msg 1 00000100 "$DEV $(elem 2 "$UNK")" >verify-unknown.req
msg 2 00000100 "$(elem 7 01) $TTL" >verify-unknown.resp
# Trailing NULs after the name, an unknown tag 0x20 (skipped), and a
# reserved byte that is not 0.
msg 1 00000002 "$(elem 1 "01$(text SEP00AABBCCDDEE)0000") $(elem 32 aabb)
    $(elem 2 "$CCM")" | sed '1s/^57 01 01 00/57 01 01 7f/' >verify-nul.req
msg 2 00000002 "$(elem 7 00) $(elem 8 0215) $TTL" >verify-nul.resp

# Malformed requests.
: >empty.req
printf '57 01 01 00 00\n' >short-header.req
msg 1 0 "$DEV" | sed '1s/^57/58/' >bad-id.req
msg 1 0 "$DEV" | sed '1s/^57 01/57 02/' >bad-version.req
msg 9 0 "$DEV" >bad-command.req
msg 2 0 "$(elem 7 00)" >response-command.req
msg 1 0 "" 16385 >body-too-big.req
msg 1 0 "0102030405" 20 >truncated-body.req
msg 1 0 "$DEV" 10 >trailing-bytes.req
msg 1 0 "0100" >trunc-elem-header.req
msg 1 0 "01 0064 01 41 42" >elem-overrun.req
msg 1 0 "$(elem 1 "02$(text SEP001122334455)")" >device-no-01.req
msg 1 0 "$(elem 1 "") $(elem 2 "$CCM")" >device-empty-elem.req
msg 1 0 "$(elem 1 "010000") $(elem 2 "$CCM")" >device-empty-name.req
msg 1 0 "$(elem 1 "01$(text "$(printf 'A%.0s' $(seq 65))")")" \
    >device-too-long.req
msg 1 0 "$(elem 1 "01$(text SEP)0a41")" >device-control.req
msg 1 0 "$(elem 1 "01$(text SEP)c328")" >device-bad-utf8.req
msg 1 0 "$DEV $DEV" >dup-device.req
msg 1 0 "$DEV $(elem 2 "$CCM") $(elem 2 "$CCM")" >dup-cert.req
msg 1 0 "$DEV $(elem 2 "")" >empty-cert.req
msg 1 0 "$DEV" >no-cert.req
msg 1 0 "$(elem 2 "$CCM")" >no-device.req
msg 1 0 "$DEV $(elem 7 00)" >status-in-request.req

# Responses, as a client decodes them.
msg 2 00000007 "$(elem 20 ff) $(elem 7 01)" >resp-unknown-tag.resp
msg 2 0 "$(elem 8 02) $TTL" >resp-no-status.resp
msg 2 0 "$(elem 7 02)" >resp-bad-status.resp
msg 2 0 "$(elem 7 00) $(elem 7 00)" >resp-dup-status.resp
msg 2 0 "$(elem 7 00) $(elem 9 000e10)" >resp-short-ttl.resp
msg 2 0 "$(elem 7 00) $(elem 8 000102030400010203040001020304000102)" \
    >resp-many-roles.resp
msg 1 0 "$(elem 7 00)" >resp-request.resp
