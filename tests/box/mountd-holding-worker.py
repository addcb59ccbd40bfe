#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A stand-in for exfat-worker (test-mountd-exclusive.sh installs it in the box only) that stops where
# a real worker reads or writes the device, until the test lets it go: on DEVICE (probing) and on
# SET_LABEL (writing the label) it opens the FIFO holding-reached for writing (the test, reading it,
# learns where it stands) and then reads the FIFO holding-release (the test writes it to go on). It
# probes a volume that looks fine, sets any label, and answers FUSE with a failed READY, so that a
# Mount ends as WorkerFailed "could not serve" once mount(2) has succeeded.
import os
import socket
import struct
import sys

MAGIC = 0x45584654
HELLO, DEVICE, PROBED, FUSE, READY, SET_LABEL, LABEL_SET, SHUTDOWN, CLEAN = range(1, 10)
NAMES = {DEVICE: "DEVICE", SET_LABEL: "SET_LABEL"}
DIR = "/etc/exfat-mountd"

s = socket.socket(fileno=0)


def send(mtype, payload=b""):
    s.sendmsg([struct.pack("<IIII", MAGIC, mtype, len(payload), 0) + payload])


def hold(what):
    with open(f"{DIR}/holding-reached", "w") as f:
        f.write(what)
    with open(f"{DIR}/holding-release") as f:
        f.read()


def probed(size):
    return struct.pack("<iIBBBB16s4xQII64s", 0, 0x12345678, 0, 0, 0, 0, bytes(16), size, 4096, 0, b"HOLDING")


send(HELLO, struct.pack("<II", 1, os.getpid()))
device = None
while True:
    msg, anc, _, _ = s.recvmsg(512, socket.CMSG_SPACE(16))
    if not msg:
        sys.exit(0)
    mtype = struct.unpack_from("<IIII", msg)[1]
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS and device is None:
            device = struct.unpack("i", data[:4])[0]  # kept open, as a worker does
    if mtype in NAMES:
        hold(NAMES[mtype])
    if mtype == DEVICE:
        send(PROBED, probed(os.lseek(device, 0, os.SEEK_END) if device is not None else 0))
    elif mtype == SET_LABEL:
        send(LABEL_SET, struct.pack("<iI", 0, 0))
    elif mtype == FUSE:
        send(READY, struct.pack("<iI", -5, 0))
    elif mtype == SHUTDOWN:
        send(CLEAN, struct.pack("<iI", 0, 0))
        sys.exit(0)
