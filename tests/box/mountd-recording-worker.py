#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A stand-in for exfat-worker (test-mountd-overlap.sh installs it in the box only) that says HELLO
# and then only reports, on stderr (the unit's journal), every message the daemon sends it and how
# it ends, so that the test can see whether a refused caller's worker was ever given the device.
import os
import signal
import socket
import struct
import sys

MAGIC = 0x45584654
HELLO = 1
NAMES = {2: "DEVICE", 4: "FUSE", 6: "SET_LABEL", 8: "SHUTDOWN", 10: "DIRECT_DEVICE"}


def say(what):
    print(f"recorder {os.getpid()}: {what}", file=sys.stderr, flush=True)


signal.signal(signal.SIGTERM, lambda *_: (say("stopped (SIGTERM)"), os._exit(0)))
s = socket.socket(fileno=0)
s.sendmsg([struct.pack("<IIII", MAGIC, HELLO, 8, 0) + struct.pack("<II", 1, os.getpid())])
say("hello sent")
s.settimeout(30)
while True:
    try:
        msg, anc, _, _ = s.recvmsg(512, socket.CMSG_SPACE(16))
    except socket.timeout:
        say("nothing for 30 s")
        sys.exit(1)
    if not msg:
        say("link closed")
        sys.exit(0)
    mtype = struct.unpack_from("<II", msg)[1] if len(msg) >= 8 else -1
    say(f"got {NAMES.get(mtype, mtype)}{' with an fd' if anc else ''}")
    if mtype == 2:
        sys.exit(2)  # the test only wants to know it came; the daemon sees a dead worker
