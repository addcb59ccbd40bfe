#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A stand-in for exfat-worker (test-mountd-worker-sandbox.sh installs it in the box only): a worker
# taken over by a hostile image, trying from inside the real worker's sandbox what it must not be
# able to do. It reports each attempt on stderr (the unit's journal) as "probe NAME: allowed" or
# "probe NAME: denied (ERRNO)", then says HELLO and exits (the daemon sees a dead worker).
import ctypes
import errno
import os
import socket
import struct
import sys

MAGIC = 0x45584654
HELLO = 1
NR_IO_URING_SETUP = 425  # x86_64 and aarch64 alike


def report(name, fn):
    try:
        fn()
        print(f"probe {name}: allowed", file=sys.stderr, flush=True)
    except OSError as e:
        print(f"probe {name}: denied ({errno.errorcode.get(e.errno, e.errno)})", file=sys.stderr, flush=True)


def new_socket(family, kind):
    socket.socket(family, kind).close()


def io_uring_setup():
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)
    fd = libc.syscall(NR_IO_URING_SETUP, 4, params)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    os.close(fd)


report("socket-unix", lambda: new_socket(socket.AF_UNIX, socket.SOCK_STREAM))
report("socket-unix-dgram", lambda: new_socket(socket.AF_UNIX, socket.SOCK_DGRAM))
report("socket-netlink", lambda: new_socket(socket.AF_NETLINK, socket.SOCK_RAW))
report("socket-inet", lambda: new_socket(socket.AF_INET, socket.SOCK_STREAM))
report("socketpair", lambda: [s.close() for s in socket.socketpair()])
report("io_uring_setup", io_uring_setup)
report("open-dev-fuse", lambda: os.close(os.open("/dev/fuse", os.O_RDWR)))
print("probe done", file=sys.stderr, flush=True)
s = socket.socket(fileno=0)
s.sendmsg([struct.pack("<IIII", MAGIC, HELLO, 8, 0) + struct.pack("<II", 1, os.getpid())])
sys.exit(3)
