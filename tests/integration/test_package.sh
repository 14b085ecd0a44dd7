#!/bin/bash
# The Debian package: built with CPack from this build folder, its control
# fields, conffiles and maintainer scripts, its files unpacked into a
# scratch root and checked: programs that run, man pages that render
# without warnings, systemd units that systemd-analyze accepts, the
# tmpfiles and sysusers rules, bash completion that loads.
source "$(dirname "$0")/lib.sh"

build=$(cd "$ITL_BIN/.." && pwd)
dir="$ITL_TMP/package"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if [ "$prefix" != /usr ]; then
    # A build folder configured before /usr became the default.
    echo "SKIPPED: $build installs to $prefix; packages are built for /usr"\
        "(reconfigure with -DCMAKE_INSTALL_PREFIX=/usr)"
    finish
    exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/out" "$dir/root" "$dir/control"

if ! (cd "$build" && cpack -G DEB -B "$dir/out") > "$dir/cpack.log" 2>&1
then
    bad "cpack failed:"; cat "$dir/cpack.log"; finish; exit 1
fi
deb=$(ls "$dir"/out/itl-recovery_*_*.deb)
ok "package built: $(basename "$deb")"

# ---- control fields ----
field() { dpkg-deb -f "$deb" "$1"; }
expect_eq "Package" "$(field Package)" itl-recovery
expect_eq "Depends" "$(field Depends)" \
    "libzmq5, libprotobuf-c1, libssl3, libssh-4, libedit2, tftpd-hpa"
expect_eq "Section" "$(field Section)" admin
dpkg-deb -e "$deb" "$dir/control"
expect_eq "conffiles" "$(cat "$dir/control/conffiles")" \
    "/etc/itl-recovery/publisher.conf.example
/etc/itl-recovery/subscriber.conf.example"
for s in postinst prerm postrm; do
    expect_eq "$s is executable" "$(stat -c %a "$dir/control/$s")" 755
    if sh -n "$dir/control/$s"; then ok "$s parses"; else
        bad "$s does not parse"; fi
done
grep -q 'systemd-sysusers itl-recovery.conf' "$dir/control/postinst" &&
    ok "postinst creates the user" || bad "postinst does not create the user"

# ---- the file list ----
dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' > "$dir/list"
for f in "-rwxr-xr-x root/root ./usr/bin/itl-admin" \
    "-rwxr-xr-x root/root ./usr/bin/itl-publisher" \
    "-rwxr-xr-x root/root ./usr/bin/itl-subscriber" \
    "-rwxr-xr-x root/root ./usr/bin/itl-phone" \
    "-rw-r--r-- root/root ./etc/itl-recovery/publisher.conf.example" \
    "-rw-r--r-- root/root ./etc/itl-recovery/subscriber.conf.example" \
    "-rw-r--r-- root/root ./usr/lib/systemd/system/itl-publisher.service" \
    "-rw-r--r-- root/root ./usr/lib/systemd/system/itl-subscriber.service" \
    "-rw-r--r-- root/root ./usr/lib/tmpfiles.d/itl-recovery.conf" \
    "-rw-r--r-- root/root ./usr/lib/sysusers.d/itl-recovery.conf" \
    "-rw-r--r-- root/root ./usr/share/bash-completion/completions/itl-admin" \
    "-rw-r--r-- root/root ./usr/share/bash-completion/completions/itl-phone" \
    "-rw-r--r-- root/root ./usr/share/man/man8/itl-admin.8" \
    "-rw-r--r-- root/root ./usr/share/man/man8/itl-publisher.8" \
    "-rw-r--r-- root/root ./usr/share/man/man8/itl-subscriber.8" \
    "-rw-r--r-- root/root ./usr/share/man/man1/itl-phone.1" \
    "-rw-r--r-- root/root ./usr/share/man/man5/itl-recovery.conf.5" \
    "-rw-r--r-- root/root ./usr/share/doc/itl-recovery/README.md" \
    "-rw-r--r-- root/root ./usr/share/doc/itl-recovery/OPERATIONS.md" \
    "-rw-r--r-- root/root ./usr/share/doc/itl-recovery/TROUBLESHOOTING.md"; do
    expect_line "$dir/list" "$f"
done
# The package never ships the real configuration files.
if grep -qE '\./etc/itl-recovery/(publisher|subscriber)\.conf$' "$dir/list"
then bad "the package owns a real configuration file"; else
    ok "no real configuration file in the package"; fi

# ---- unpacked into a scratch root ----
dpkg -x "$deb" "$dir/root"
r="$dir/root"
expect_eq "itl-admin from the package runs" \
    "$("$r/usr/bin/itl-admin" --commands | head -1 | cut -f1)" "show itl"
cmp -s "$r/etc/itl-recovery/publisher.conf.example" \
    "$ITL_SRC/deploy/config/publisher.conf" &&
    ok "publisher example is deploy/config/publisher.conf" ||
    bad "publisher example differs"
out=$("$r/usr/bin/itl-publisher" --config \
    "$r/etc/itl-recovery/publisher.conf.example" --check-config 2>&1)
expect_eq "the shipped publisher example is valid" "$out" \
    "$r/etc/itl-recovery/publisher.conf.example: configuration is valid"
expect_line "$r/usr/lib/tmpfiles.d/itl-recovery.conf" \
    "d /var/lib/itl-recovery 0700 itl-recovery itl-recovery -"
expect_line "$r/usr/lib/tmpfiles.d/itl-recovery.conf" \
    "d /srv/tftp 0755 itl-recovery itl-recovery -"
expect_line "$r/usr/lib/sysusers.d/itl-recovery.conf" \
    'u itl-recovery - "ITL recovery agents" /var/lib/itl-recovery /usr/sbin/nologin'

# Man pages: render without a warning, with their names and sections.
for page in man8/itl-admin.8 man8/itl-publisher.8 man8/itl-subscriber.8 \
    man1/itl-phone.1 man5/itl-recovery.conf.5; do
    f="$r/usr/share/man/$page"
    name=$(basename "$page")
    if LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" \
        > "$dir/$name.txt" 2> "$dir/$name.warn" && [ ! -s "$dir/$name.warn" ]
    then ok "man $name renders"; else
        bad "man $name:"; cat "$dir/$name.warn"; fi
    want=$(echo "${name%.*}" | tr a-z A-Z)"(${name##*.})"
    expect_eq "man $name title" "$(head -1 "$dir/$name.txt" | cut -d' ' -f1)" \
        "$want"
done
# itl-admin(8) lists every command of the table, from commands.def.
"$r/usr/bin/itl-admin" --commands > "$dir/commands" 2> "$dir/commands.err" ||
    bad "itl-admin --commands failed: $(cat "$dir/commands.err")"
tr -s ' ' < "$dir/itl-admin.8.txt" > "$dir/itl-admin.8.flat"
while IFS=$'\t' read -r words _; do
    if grep -qF " $words " "$dir/itl-admin.8.flat"; then
        ok "itl-admin(8) lists $words"; else
        bad "itl-admin(8) does not list $words"; fi
done < "$dir/commands"
grep -q "^EXIT STATUS" "$dir/itl-admin.8.txt" && ok "itl-admin(8) exit status" ||
    bad "itl-admin(8) has no EXIT STATUS"
tr -s ' ' < "$dir/itl-recovery.conf.5.txt" |
    grep -qF "tftp_address, tftp_port (default 0.0.0.0, 69)" &&
    ok "itl-recovery.conf(5) lists the keys" ||
    bad "itl-recovery.conf(5) has no tftp_port"

# systemd units: the hardening, and systemd-analyze's opinion.
for u in itl-publisher itl-subscriber; do
    f="$r/usr/lib/systemd/system/$u.service"
    for l in "User=itl-recovery" "ExecStartPre=/usr/bin/$u --check-config" \
        "ExecStart=/usr/bin/$u run" "Restart=on-failure" \
        "NoNewPrivileges=yes" "PrivateTmp=yes" "ProtectSystem=strict" \
        "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_SETUID CAP_SETGID" \
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_SETUID CAP_SETGID" \
        "ConditionPathExists=/etc/itl-recovery/${u#itl-}.conf"; do
        expect_line "$f" "$l"
    done
    if command -v systemd-analyze > /dev/null; then
        # With the unpacked programs, since /usr/bin has none.
        sed "s|/usr/bin/|$r/usr/bin/|g" "$f" > "$dir/$u.service"
        if systemd-analyze verify --man=no "$dir/$u.service" \
            > "$dir/$u.verify" 2>&1 && [ ! -s "$dir/$u.verify" ]; then
            ok "systemd-analyze verify $u.service"; else
            bad "systemd-analyze verify $u.service:"; cat "$dir/$u.verify"; fi
    fi
done

# Bash completion: loads, and completes from the unpacked itl-admin.
out=$(bash -c '
source "$1/usr/share/bash-completion/completions/itl-admin"
source "$1/usr/share/bash-completion/completions/itl-phone"
COMP_WORDS=("$1/usr/bin/itl-admin" show ""); COMP_CWORD=2; _itl_admin
echo "${COMPREPLY[*]}"
COMP_WORDS=("$1/usr/bin/itl-admin" utils itl reset localkey --); COMP_CWORD=5
_itl_admin; echo "${COMPREPLY[*]}"
COMP_WORDS=(itl-phone st); COMP_CWORD=1; _itl_phone; echo "${COMPREPLY[*]}"
' _ "$r" 2>&1)
expect_eq "bash completion" "$out" "backup cluster itl reset
--config --password-stdin
status"

finish
