#!/usr/bin/python3
"""e2e agent: an application whose secret file is rotated while it runs. Waits for GO1,
reads FILE and sends its value to PORT1, says so (creates SENT1), waits for GO2, reads FILE
again and sends the new value to PORT1 and the value it read first to PORT2.
usage: py_rotation_app.py FILE PORT1 PORT2 GO1 SENT1 GO2"""
import os
import socket
import sys
import time

path, port1, port2, go1, sent1, go2 = sys.argv[1:7]


def wait(p):
    deadline = time.monotonic() + 60
    while not os.path.exists(p) and time.monotonic() < deadline:
        time.sleep(0.02)


def send(port, value):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.sendall(("password=%s\n" % value).encode())
    s.close()


def read():
    with open(path) as f:
        return f.read().strip()


wait(go1)
old = read()
send(port1, old)
open(sent1, "w").close()
wait(go2)
send(port1, read())
send(port2, old)
