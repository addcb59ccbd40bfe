#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# exfatctl-pty.py PASSWORD|-|^C COMMAND... : runs COMMAND on a new pseudo-terminal (its controlling
# terminal and stdin/stdout/stderr), answers the first "Password:" prompt with PASSWORD ("-": never
# answer, the prompt then counts as an error; "^C": type Ctrl-C instead), copies everything COMMAND
# printed to stdout and exits with COMMAND's status (128+N when killed by signal N, 124 on a 60 s
# timeout). Used by test-exfatctl-agent.sh.
import os
import pty
import select
import signal
import sys
import time

password, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

output = b""
answered = False
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: every holder of the terminal is gone
        break
    if not data:
        break
    output += data
    if not answered and b"Password:" in output:
        answered = True
        if password == "-":
            sys.stdout.write(output.decode(errors="replace"))
            print("\nexfatctl-pty: unexpected password prompt", file=sys.stderr)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.exit(125)
        # The agent switches echo off and may flush pending input first: let it settle.
        time.sleep(0.3)
        if password == "^C":
            os.write(fd, b"\x03")
        else:
            os.write(fd, password.encode() + b"\n")
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.stdout.write(output.decode(errors="replace"))
    print("\nexfatctl-pty: timed out", file=sys.stderr)
    sys.exit(124)

_, status = os.waitpid(pid, 0)
sys.stdout.write(output.decode(errors="replace").replace("\r\n", "\n"))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
