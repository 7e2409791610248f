#!/usr/bin/env python3
"""Runs a command under a pseudo-terminal and plays a script against it.

usage: pty-drive.py TIMEOUT_SECONDS CMD [ARGS...]   (the script as JSON on stdin)

The script is a list of steps: ["expect", REGEX] waits until the output (from where the
last expect matched) matches; ["send", TEXT] types TEXT. Everything the command printed
goes to stdout; at the end "EXIT <status>" is printed. Exit 1 when an expect times out.
"""
import json, os, pty, re, select, sys, time

def main():
    timeout = float(sys.argv[1])
    cmd = sys.argv[2:]
    steps = json.load(sys.stdin)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    pos = 0
    deadline = time.monotonic() + timeout

    def pump(wait):
        nonlocal out
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        out += data
        return True

    ok = True
    for kind, arg in steps:
        if kind == "send":
            os.write(fd, arg.encode())
            continue
        rx = re.compile(arg.encode(), re.S)
        while True:
            m = rx.search(out, pos)
            if m:
                pos = m.end()
                break
            if time.monotonic() > deadline or not pump(0.1):
                if not rx.search(out, pos):
                    sys.stderr.write("pty-drive: timed out waiting for %r\n" % arg)
                    ok = False
                break
        if not ok:
            break
    # Read what is left until the command exits (or the time is up, then it is killed).
    status = None
    while status is None:
        alive = pump(0.1)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            while pump(0.05):
                if not select.select([fd], [], [], 0)[0]:
                    break
        elif not alive or time.monotonic() > deadline:
            if time.monotonic() > deadline:
                sys.stderr.write("pty-drive: the command did not end in time\n")
                ok = False
                os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode("utf-8", "replace"))
    sys.stdout.write("\nEXIT %d\n" % os.waitstatus_to_exitcode(status))
    sys.exit(0 if ok else 1)

main()
