#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# mountd-pty-hold.py OUTFILE COMMAND... : runs COMMAND on a new pseudo-terminal (as
# exfatctl-pty.py does) and copies what it prints to OUTFILE as it comes, but leaves a password
# prompt unanswered until told: SIGUSR1 types the password in $HOLD_PASSWORD, SIGINT types Ctrl-C.
# Exits with COMMAND's status (128+N when killed by signal N, 124 after 120 s). Used by
# test-mountd-pending.sh to keep an interactive polkit check open.
import os
import pty
import select
import signal
import sys
import time

outfile, argv = sys.argv[1], sys.argv[2:]
typed = []
signal.signal(signal.SIGUSR1, lambda *_: typed.append(os.environ.get("HOLD_PASSWORD", "").encode() + b"\n"))
signal.signal(signal.SIGINT, lambda *_: typed.append(b"\x03"))
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

out = open(outfile, "wb", buffering=0)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    while typed:
        os.write(fd, typed.pop(0))
    try:
        ready, _, _ = select.select([fd], [], [], 0.1)
    except InterruptedError:
        continue
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: every holder of the terminal is gone
        break
    if not data:
        break
    out.write(data)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.exit(124)
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
