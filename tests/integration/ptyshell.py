"""Drives a program through a pseudo-terminal, for the shell tests.

    python3 ptyshell.py TRANSCRIPT PROGRAM [ARGS...] < STEPS

STEPS has one step a line:
    expect TEXT      wait (15 s at most) until TEXT shows on the screen
    send TEXT        type TEXT; \\t, \\r, \\x1b and the like are decoded
    wait-exit        wait for the program to end; print its exit status
TEXT is looked for on the screen as a terminal would show it (a small
emulation of carriage return, backspace and the cursor and erase
sequences that libedit sends), after the place of the previous match
(on its line when the line was redrawn shorter since).
The raw bytes the program wrote to the terminal are saved in TRANSCRIPT,
and the rendered screen in TRANSCRIPT.screen.
Exit status 0 when every step passed; else 1, naming the failed step.
"""
import os
import pty
import re
import select
import sys
import time

CSI = re.compile(rb"\x1b\[([0-9;?]*)([@-~])")


def render(raw):
    """The text of the screen that raw draws, lines joined by newlines."""
    lines, row, col, i = [[]], 0, 0, 0
    while i < len(raw):
        m = CSI.match(raw, i)
        if m:
            params = m.group(1)
            n = 1
            if params[:1] != b"?" and params.split(b";")[0]:
                n = int(params.split(b";")[0])
            op = m.group(2)
            if op == b"G":
                col = n - 1
            elif op == b"C":
                col += n
            elif op == b"D":
                col = max(0, col - n)
            elif op == b"A":
                row = max(0, row - n)
            elif op == b"B":
                row += n
            elif op in (b"K", b"J"):
                while len(lines) <= row:
                    lines.append([])
                del lines[row][col:]
                if op == b"J":
                    del lines[row + 1:]
            i = m.end()
            continue
        c = raw[i:i + 1]
        i += 1
        if c == b"\x1b":
            i += 1  # a two-byte escape; nothing to draw
        elif c == b"\r":
            col = 0
        elif c == b"\n":
            row += 1
        elif c == b"\b":
            col = max(0, col - 1)
        elif c >= b" ":
            while len(lines) <= row:
                lines.append([])
            line = lines[row]
            while len(line) < col:
                line.append(" ")
            if col < len(line):
                line[col] = c.decode("latin-1")
            else:
                line.append(c.decode("latin-1"))
            col += 1
        while len(lines) <= row:
            lines.append([])
    return "\n".join("".join(line) for line in lines)


def main():
    transcript, argv = sys.argv[1], sys.argv[2:]
    steps = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    screen = b""

    def read_some(timeout):
        nonlocal screen
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        screen += data
        return True

    def find(text, row, col):
        """(row, col) of text on the screen at or after (row, col)."""
        lines = render(screen).split("\n")
        for r in range(row, len(lines)):
            start = min(col, len(lines[r])) if r == row else 0
            at = lines[r].find(text, start)
            if at >= 0:
                return r, at
        return None

    status = 0
    seen = (0, 0)  # expect searches the screen after the previous match
    for step in steps:
        verb, _, arg = step.partition(" ")
        if verb == "expect":
            deadline = time.time() + 15
            while find(arg, *seen) is None and time.time() < deadline:
                if not read_some(0.1):
                    break
            at = find(arg, *seen)
            if at is None:
                print("ptyshell: did not see %r" % arg)
                status = 1
                break
            seen = (at[0], at[1] + len(arg))
        elif verb == "send":
            time.sleep(0.1)
            os.write(fd, arg.encode().decode("unicode_escape").encode())
        elif verb == "wait-exit":
            deadline = time.time() + 15
            while time.time() < deadline and read_some(0.1):
                pass
            _, st = os.waitpid(pid, 0)
            print("exit %d" % os.waitstatus_to_exitcode(st))
            pid = 0
        else:
            print("ptyshell: unknown step %r" % step)
            status = 1
            break
    if pid:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    with open(transcript, "wb") as f:
        f.write(screen)
    with open(transcript + ".screen", "w") as f:
        f.write(render(screen))
    return status


sys.exit(main())
