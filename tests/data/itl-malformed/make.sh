#!/bin/bash
# Writes the small hand-made ITL files of the malformed-input cases listed in
# ./index. Each file starts from a minimal valid layout:
#   header  01 0002 0102   VERSION 1.2
#           02 0002 000c   HEADERLENGTH 12
#           0d 0d          padding to a multiple of 4
#   record  01 0002 000a   RECORDLENGTH 10
#           04 0002 0000   FUNCTION 0 (SAST)
# and breaks one thing. Run it from anywhere; it writes beside itself.
set -euo pipefail
cd "$(dirname "$0")"

mk() {
    # mk NAME HEX...: the bytes of HEX (spaces ignored) into NAME.
    local name=$1
    shift
    printf '%s' "$*" | tr -d ' ' | xxd -r -p >"$name"
}

V="01 0002 0102"
REC="01 0002 000a 04 0002 0000"

: >empty.tlv
mk minimal.tlv "$V 02 0002 000c 0d0d $REC"
# Tags out of order, an unknown tag 0x40 and an IPADDRESS: all kept.
mk unknown-tag.tlv "$V 02 0002 000c 0d0d" \
    "01 0002 0017 0a 0004 7f000001 40 0003 aabbcc 04 0002 0000"
mk trunc-length.tlv "01 00"
mk trunc-value.tlv "$V 02 0002 00"
mk no-version.tlv "02 0002 000c $V 0d0d $REC"
mk headerlen-short.tlv "$V 02 0002 0008 0d0d $REC"
mk headerlen-past-eof.tlv "$V 02 0002 00c8 0d0d $REC"
mk headerlen-long.tlv "$V 02 0002 0016 0d0d $REC"
mk header-overrun.tlv "$V 02 0002 0010 0e 0008 41424344454647 00 $REC"
mk container-overrun.tlv "$V 02 0002 0010 03 0064 0d0d0d $REC"
mk no-records.tlv "$V 02 0002 000c 0d0d"
mk record-no-length.tlv "$V 02 0002 000c 0d0d 04 0002 0000 $REC"
mk recordlen-tiny.tlv "$V 02 0002 000c 0d0d 01 0002 0003 04 0002 0000"
mk recordlen-past-eof.tlv "$V 02 0002 000c 0d0d 01 0002 0028 04 0002 0000"
mk recordlen-short.tlv "$V 02 0002 000c 0d0d 01 0002 0009 04 0002 0000 00"
mk recordlen-long.tlv "$V 02 0002 000c 0d0d 01 0002 0014 04 0002 0000 $REC"
mk record-overrun.tlv "$V 02 0002 000c 0d0d 01 0002 000a 03 0008 4142 $REC"
mk trailing-bytes.tlv "$V 02 0002 000c 0d0d $REC 01 00"
mk bad-version-len.tlv "01 0003 010200 02 0002 000c 0d $REC"
# One byte over the 64 KiB phones accept.
head -c 65537 /dev/zero >toobig.tlv
