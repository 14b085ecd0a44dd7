# Sourced by the SFTP tests: a real OpenSSH sshd on 127.0.0.1, a random
# high port, its own configuration and host keys, and a local test user.
# Needs root (to create the user and to run sshd); callers skip otherwise.
#
#   sftp_user_create / sftp_user_remove
#   sftp_sshd_start MODE [HOSTKEY]   MODE: password, kbdint or publickey;
#                                    sets SSHD_PORT (new port each call)
#   sftp_sshd_stop
#   free_port                        prints an unused TCP port
SFTP_USER=itlsftptest
SFTP_PASS='Sftp-Pass1'
SFTP_HOME=/home/$SFTP_USER

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

sftp_user_create() {
    if ! id "$SFTP_USER" >/dev/null 2>&1; then
        useradd -m -s /bin/sh "$SFTP_USER"
    fi
    echo "$SFTP_USER:$SFTP_PASS" | chpasswd
}

sftp_user_remove() {
    if id "$SFTP_USER" >/dev/null 2>&1; then
        userdel -r "$SFTP_USER" 2>/dev/null || true
    fi
}

sftp_sshd_start() { # mode [hostkey]
    local mode=$1 key=${2:-$SSHD_DIR/host_ed25519} pw=no kbd=no pam=no
    mkdir -p "$SSHD_DIR"
    # sshd's privilege separation folder; the package normally makes it.
    mkdir -p /run/sshd
    chmod 755 /run/sshd
    [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -f "$key"
    case $mode in
    password) pw=yes ;;
    kbdint) kbd=yes; pam=yes ;;
    publickey) ;;
    esac
    SSHD_PORT=$(free_port)
    cat >"$SSHD_DIR/sshd_config" <<CONF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $key
PidFile $SSHD_DIR/sshd.pid
PasswordAuthentication $pw
KbdInteractiveAuthentication $kbd
UsePAM $pam
PubkeyAuthentication yes
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PermitRootLogin no
AllowUsers $SFTP_USER
Subsystem sftp internal-sftp
LogLevel VERBOSE
CONF
    /usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config"
    /usr/sbin/sshd -D -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" &
    SSHD_PID=$!
    for _ in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "sshd did not start; see $SSHD_DIR/sshd.log" >&2
    return 1
}

sftp_sshd_stop() {
    if [ -n "${SSHD_PID:-}" ]; then
        kill "$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
        SSHD_PID=
    fi
}
