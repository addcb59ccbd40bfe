#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A userdb service (systemd's varlink user database, asked by nss-systemd for any uid /etc/passwd does
# not know) that accepts every connection and never answers: a directory service that hangs.
# Usage: mountd-hung-userdb.py SOCKET_PATH ; prints "ready" once listening.
import os
import socket
import struct
import sys

path = sys.argv[1]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
s.listen(64)
print("ready", flush=True)
held = []
while True:
    c, _ = s.accept()
    pid, uid, gid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        comm = "?"
    # The journal tells the test a lookup is stuck here, and whose.
    print(f"accepted pid {pid} uid {uid} ({comm})", flush=True)
    held.append(c)  # read nothing, answer nothing, close nothing
