#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A hostile stand-in for exfat-worker (test-mountd-hostile.sh installs it in the box only): it speaks
# the link protocol of daemon/common/protocol.h wrongly in the way /etc/exfat-mountd/hostile-mode
# names, so that the test can check the daemon refuses every lie and stays up.
import os
import socket
import struct
import sys
import time

MAGIC = 0x45584654
HELLO, DEVICE, PROBED, FUSE, READY, SET_LABEL, LABEL_SET, SHUTDOWN, CLEAN = range(1, 10)

mode = open("/etc/exfat-mountd/hostile-mode").read().strip()
s = socket.socket(fileno=0)


def send(mtype, payload=b"", fds=None, size=None):
    header = struct.pack("<IIII", MAGIC, mtype, len(payload) if size is None else size, 0)
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i" * len(fds), *fds))] if fds else []
    s.sendmsg([header + payload], anc)


def probed(status=0, serial=0x12345678, dirty=0, ro=0, size=64 << 20, cluster=4096, label=b"HOSTILE"):
    return struct.pack("<iIBBBB16s4xQII64s", status, serial, dirty, ro, 0, 0, bytes(16), size, cluster, 0, label)


def recv_fuse():
    # DIRECT_DEVICE may come first (right after DEVICE); FUSE follows mount(2), done in a thread.
    while True:
        msg, anc, flags, addr = s.recvmsg(256, socket.CMSG_SPACE(16))
        if not msg or struct.unpack("<IIII", msg[:16])[1] == FUSE:
            return


hello = struct.pack("<II", 99 if mode == "version" else 1, os.getpid())
if mode == "silent":
    time.sleep(120)
    sys.exit(0)
if mode == "fd":
    send(HELLO, hello, fds=[1])
    time.sleep(5)
    sys.exit(0)
if mode == "garbage":
    s.send(os.urandom(50))
    time.sleep(5)
    sys.exit(0)
if mode == "short":
    send(HELLO, hello[:4], size=8)
    time.sleep(5)
    sys.exit(0)
send(HELLO, hello)
if mode == "exit":
    sys.exit(3)

msg, anc, flags, addr = s.recvmsg(256, socket.CMSG_SPACE(16))
if mode == "early-ready":
    send(READY, struct.pack("<iI", 0, 0))
elif mode == "badlabel":
    send(PROBED, probed(label=b"A" * 64))
elif mode == "ctrl-label":
    send(PROBED, probed(label=b"bad\nlabel"))
elif mode == "hugesize":
    send(PROBED, probed(size=1 << 60))
elif mode == "badcluster":
    send(PROBED, probed(cluster=3000))
elif mode == "badstatus":
    send(PROBED, probed(status=12345))
elif mode == "badflag":
    send(PROBED, probed(dirty=7))
elif mode == "notexfat":
    send(PROBED, probed(status=-22))
elif mode == "twice":
    send(PROBED, probed())
    send(PROBED, probed())
elif mode == "hang-after-fuse":
    send(PROBED, probed())
    recv_fuse()
    time.sleep(120)
elif mode == "ready-no-serve":
    # Claims to serve, keeps the FUSE fd open and never reads a request from it.
    send(PROBED, probed())
    recv_fuse()
    send(READY, struct.pack("<iI", 0, 0))
elif mode == "notready":
    send(PROBED, probed())
    recv_fuse()
    send(READY, struct.pack("<iI", -5, 0))
# Then wait for SHUTDOWN (or the end) and answer it, like a worker that gives up politely.
try:
    while True:
        msg, anc, flags, addr = s.recvmsg(256, socket.CMSG_SPACE(16))
        if not msg:
            break
        mtype = struct.unpack("<IIII", msg[:16])[1]
        if mtype == SHUTDOWN:
            send(CLEAN, struct.pack("<iI", 0, 0))
            break
except OSError:
    pass
