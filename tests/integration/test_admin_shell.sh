#!/bin/bash
# The admin: shell of itl-admin, driven through a pseudo-terminal against a
# two-node loopback cluster: TAB completion of command words, the history
# (up arrow, also from an earlier session, kept in ~/.itl_admin_history),
# help, a password asked without echo, quit; then the same shell driven by
# a pipe, its exit status, and the --json answers of the reporting commands.
source "$(dirname "$0")/lib.sh"

export ITL_CLUSTER_DIR="$ITL_TMP/admin-shell"
export ITL_BASE_IP=127.0.0.90
export ITL_CLUSTER_PORT=7490
# Its own TFTP port too: other work on this machine may hold 6969 here.
export ITL_TFTP_PORT=6990
rm -rf "$ITL_CLUSTER_DIR"
mkdir -p "$ITL_CLUSTER_DIR/home"
trap finish EXIT
"$cluster" start 2
"$cluster" wait
export ITL_ADMIN_SOCKET="$ITL_CLUSTER_DIR/pub/state/admin.sock"
export HOME="$ITL_CLUSTER_DIR/home" TERM=xterm
pw=lab-admin-password
t="$ITL_CLUSTER_DIR/tty"

pty() { # TRANSCRIPT < STEPS
    python3 "$ITL_SRC/tests/integration/ptyshell.py" "$1" "$admin"
}

# ---- session 1: completion, help, history, the password prompt ----
if pty "$t.1" > "$t.1.out" <<STEPS
expect admin:
send sho\t
expect show 
send cl\t\r
expect NODE
expect sub1
expect admin:
send stat\t\r
expect pub: publisher; serving ITL
expect admin:
send \x1b[A
expect status
send \r
expect pub: publisher; serving ITL
expect admin:
send s\t\t
expect show  status  set
expect admin:
send \x15help show i\t\r
expect show itl [--file PATH] [--json] [--config FILE]
expect admin:
send utils itl reset localkey\r
expect Enter administrator password:
send $pw\r
expect Reset complete: all 2 active TFTP nodes serve the reset ITL
expect admin:
send quit\r
wait-exit
STEPS
then ok "session 1: every step seen"; else
    bad "session 1 failed:"; cat "$t.1.out"; cat "$t.1.screen"; fi
expect_line "$t.1.out" "exit 0"
screen=$(cat "$t.1.screen")
# The completions were typed out on the screen, one word each.
expect_line "$t.1.screen" "admin:show cluster "
expect_line "$t.1.screen" "admin:status "
expect_line "$t.1.screen" "admin:help show itl "
# The password was asked on the terminal and not echoed.
expect_line "$t.1.screen" "Enter administrator password: "
if grep -qF "$pw" "$t.1"; then
    bad "the administrator password shows on the terminal"
else ok "the administrator password did not show on the terminal"; fi
# History: the lines, without the password, in a private file.
hist="$HOME/.itl_admin_history"
expect_eq "history file mode" "$(stat -c %a "$hist")" 600
if grep -qF "$pw" "$hist"; then bad "the password is in the history"; else
    ok "the password is not in the history"; fi
expect_eq "history entries" "$(tail -n +2 "$hist" | tr '\n' '|')" \
    'show\040cluster|status|help\040show\040itl|utils\040itl\040reset\040localkey|quit|'

# ---- session 2: the history of session 1, an unknown command, EOF ----
if pty "$t.2" > "$t.2.out" <<STEPS
expect admin:
send \x1b[A\x1b[A
expect utils itl reset localkey
send \x15frobnicate\r
expect Unknown command "frobnicate"; type help for the list
expect admin:
send \x04
wait-exit
STEPS
then ok "session 2: every step seen"; else
    bad "session 2 failed:"; cat "$t.2.out"; cat "$t.2.screen"; fi
# End of input leaves with the status of the last command (unknown: 2).
expect_line "$t.2.out" "exit 2"

# ---- the shell driven by a pipe ----
out="$ITL_CLUSTER_DIR/piped"
printf '%s\n' '# a comment, then an empty line' '' 'status' \
    'utils itl reset localkey --password-stdin' "$pw" 'show cluster' |
    "$admin" > "$out.out" 2> "$out.err" && rc=0 || rc=$?
expect_eq "piped: status" "$rc" 0
if grep -q 'admin:' "$out.out"; then bad "piped: a prompt was printed"
else ok "piped: no prompt"; fi
expect_eq "piped: lines of status" "$(grep -c '^pub: publisher; serving ITL' \
    "$out.out")" 1
expect_line "$out.out" "Following is the list of active TFTP servers in the cluster"
if grep -q '^Reset complete: all 2 active TFTP nodes serve the reset ITL' \
    "$out.out"; then ok "piped: reset complete"; else
    bad "piped: no reset"; cat "$out.out" "$out.err"; fi
expect_eq "piped: show cluster rows" "$(grep -cE '^(pub|sub1) ' "$out.out")" 2
# Every line runs; the status is the first failure's.
printf '%s\n' 'show itl --file /nonexistent/ITLFile.tlv' 'verify itl' \
    'status' | "$admin" > "$out.2.out" 2> "$out.2.err" && rc=0 || rc=$?
expect_eq "piped: first failure's status" "$rc" 2
expect_eq "piped: the line after the failures ran" \
    "$(grep -c '^pub: publisher' "$out.2.out")" 1
expect_line "$out.2.err" "usage: itl-admin verify itl --file NEW --trust HELD [--json]"
printf 'show itl --file "%s"\n' "$ITL_CLUSTER_DIR/no such file" |
    "$admin" > /dev/null 2> "$out.3.err" && rc=0 || rc=$?
expect_eq "piped: quoted words" "$(cat "$out.3.err")" \
    "itl-admin: cannot open $ITL_CLUSTER_DIR/no such file: No such file or directory"
printf 'status\nquit\nshow itl --file /nonexistent\n' | "$admin" \
    > /dev/null 2>&1 && rc=0 || rc=$?
expect_eq "piped: quit stops reading" "$rc" 0

# ---- --json of the reporting commands ----
"$admin" status --json > "$out.status.json"
expect_eq "status --json" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["node"], d["role"], d["reset"], len(d["sha1"]),
      d["signer"].startswith("CN=ITLRECOVERY_pub;"))' "$out.status.json")" \
    "pub publisher True 40 True"
"$cluster" fetch pub "$ITL_CLUSTER_DIR/reset.tlv"
"$admin" verify itl --file "$ITL_CLUSTER_DIR/reset.tlv" \
    --trust "$ITL_CLUSTER_DIR/pub/wait.tlv" --json > "$out.verify.json" &&
    rc=0 || rc=$?
expect_eq "verify itl --json: status" "$rc" 0
expect_eq "verify itl --json" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["accepted"], d["signer"].split(";")[0], d["sast_record"] > 0)' \
    "$out.verify.json")" "True CN=ITLRECOVERY_pub True"
"$admin" verify itl --file "$ITL_CLUSTER_DIR/pub/wait.tlv" \
    --trust "$ITL_SAMPLES/itl/SCFFile.tlv" --json > "$out.refused.json" &&
    rc=0 || rc=$?
expect_eq "verify itl --json refused: status" "$rc" 1
expect_eq "verify itl --json refused" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["accepted"], "sast_record" in d, "is refused" in d["reason"])' \
    "$out.refused.json")" "False False True"
