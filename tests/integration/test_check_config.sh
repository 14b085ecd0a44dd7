#!/bin/bash
# itl-publisher / itl-subscriber --check-config: valid files pass with exit
# 0, each kind of mistake stops with exit 2 and one line naming the file,
# the line and the key.
source "$(dirname "$0")/lib.sh"

dir="$ITL_TMP/check-config"
rm -rf "$dir"
mkdir -p "$dir"
pub="$ITL_BIN/itl-publisher"
sub="$ITL_BIN/itl-subscriber"

# check PROGRAM FILE WANT_STATUS WANT_OUTPUT (stdout and stderr together)
check() {
    local out rc
    out=$("$1" --config "$2" --check-config 2>&1) && rc=0 || rc=$?
    expect_eq "$(basename "$1") --check-config $(basename "$2"): status" \
        "$rc" "$3"
    expect_eq "$(basename "$1") --check-config $(basename "$2"): message" \
        "$out" "$4"
}

# The shipped examples: the publisher's is complete; the subscriber's
# waits for the publisher's key and says so.
check "$pub" "$ITL_SRC/deploy/config/publisher.conf" 0 \
    "$ITL_SRC/deploy/config/publisher.conf: configuration is valid"
check "$sub" "$ITL_SRC/deploy/config/subscriber.conf" 2 \
    "$ITL_SRC/deploy/config/subscriber.conf: publisher_key: not set; expected the publisher's 40-character CURVE key (run 'itl-publisher show-key' on the publisher)"

# A complete subscriber file.
key=$(printf 'A%.0s' $(seq 40))
sed "s|^# publisher_key = .*|publisher_key = $key|" \
    "$ITL_SRC/deploy/config/subscriber.conf" > "$dir/subscriber.conf"
check "$sub" "$dir/subscriber.conf" 0 \
    "$dir/subscriber.conf: configuration is valid"
# The check-config command word does the same as the option.
out=$("$sub" --config "$dir/subscriber.conf" check-config 2>&1)
expect_eq "check-config as a command" "$out" \
    "$dir/subscriber.conf: configuration is valid"

# One mistake per file, each at a known line.
printf 'role = publisher\nhostname = pub\ntftp_port = sixty-nine\n' \
    > "$dir/port.conf"
check "$pub" "$dir/port.conf" 2 \
    "$dir/port.conf:3: tftp_port: expected a whole number from 1 to 65535, not 'sixty-nine'"
printf '# comment\n\nrole = publisher\ncolour = blue\n' > "$dir/unknown.conf"
check "$pub" "$dir/unknown.conf" 2 "$dir/unknown.conf:4: unknown key 'colour'"
printf 'role = publisher\njust words\n' > "$dir/noeq.conf"
check "$pub" "$dir/noeq.conf" 2 \
    "$dir/noeq.conf:2: expected 'key = value', got 'just words'"
printf 'role = publisher\ndigest = md5\n' > "$dir/digest.conf"
check "$pub" "$dir/digest.conf" 2 \
    "$dir/digest.conf:2: digest: expected sha1, sha256 or sha512, not 'md5'"
printf 'role = publisher\nkey_bits = 512\n' > "$dir/bits.conf"
check "$pub" "$dir/bits.conf" 2 \
    "$dir/bits.conf:2: key_bits: expected a whole number from 1024 to 4096, not '512'"
printf 'role = publisher\ntftp_folder = srv/tftp\n' > "$dir/folder.conf"
check "$pub" "$dir/folder.conf" 2 \
    "$dir/folder.conf:2: tftp_folder: expected an absolute path, not 'srv/tftp'"
printf 'role = publisher\nlisten = 7400\n' > "$dir/listen.conf"
check "$pub" "$dir/listen.conf" 2 \
    "$dir/listen.conf:2: listen: '7400' is not host:port"
# Values that would fail only when the agent starts, each at its line.
printf 'role = publisher\nlisten = localhost:7400\n' > "$dir/listen2.conf"
check "$pub" "$dir/listen2.conf" 2 \
    "$dir/listen2.conf:2: listen: 'localhost' is not a numeric IPv4 address or '*' (host names and IPv6 are not supported here)"
printf 'role = publisher\nlisten = *:7400\ntftp_address = ::\n' \
    > "$dir/any.conf"
check "$pub" "$dir/any.conf" 0 "$dir/any.conf: configuration is valid"
printf 'role = publisher\n\ntftp_address = tftp.example.com\n' \
    > "$dir/tftpaddr.conf"
check "$pub" "$dir/tftpaddr.conf" 2 \
    "$dir/tftpaddr.conf:3: tftp_address: 'tftp.example.com' is not a numeric IPv4 or IPv6 address"
printf 'role = publisher\ntvs_port = 2445\ntvs_address = 1.2.3\n' \
    > "$dir/tvsaddr.conf"
check "$pub" "$dir/tvsaddr.conf" 2 \
    "$dir/tvsaddr.conf:3: tvs_address: '1.2.3' is not a numeric IPv4 or IPv6 address"
printf 'role = publisher\ntftpd = /etc/passwd\n' > "$dir/tftpd.conf"
check "$pub" "$dir/tftpd.conf" 2 \
    "$dir/tftpd.conf:2: tftpd: /etc/passwd is not an executable file (the TFTP server this node runs when tftp_restart = supervise)"
printf 'role = publisher\ntftpd = /etc/passwd\ntftp = no\n' \
    > "$dir/notftp.conf"
check "$pub" "$dir/notftp.conf" 0 "$dir/notftp.conf: configuration is valid"
printf 'role = publisher\ntftp_user = nobody-such\n' > "$dir/user.conf"
check "$pub" "$dir/user.conf" 2 \
    "$dir/user.conf:2: tftp_user: no user 'nobody-such' on this system"
printf 'role = publisher\nadmin_socket = %s/no/admin.sock\n' "$dir" \
    > "$dir/sock.conf"
check "$pub" "$dir/sock.conf" 2 \
    "$dir/sock.conf:2: admin_socket: the folder $dir/no does not exist (the agent makes only the socket in it)"
printf 'role = subscriber\npublisher = -pub:7400\n' > "$dir/pubhost.conf"
check "$sub" "$dir/pubhost.conf" 2 \
    "$dir/pubhost.conf:2: publisher: '-pub' is neither a host name nor a numeric IPv4 address"
printf 'role = subscriber\n' > "$dir/nopub.conf"
check "$sub" "$dir/nopub.conf" 2 \
    "$dir/nopub.conf: publisher: not set; '' is not host:port"
# The wrong agent for the file, and no file at all.
check "$sub" "$ITL_SRC/deploy/config/publisher.conf" 2 \
    "$ITL_SRC/deploy/config/publisher.conf:3: role: this file configures a publisher, not a subscriber"
check "$pub" "$ITL_SRC/deploy/config/subscriber.conf" 2 \
    "$ITL_SRC/deploy/config/subscriber.conf:2: role: this file configures a subscriber, not a publisher"
check "$pub" "$dir/missing.conf" 2 \
    "cannot read configuration $dir/missing.conf: No such file or directory"

finish
