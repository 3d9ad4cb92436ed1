#!/usr/bin/python3
"""e2e agent: an application that keeps using a secret after its file was rotated. In
FLAGS: waits for go1, reads FILE and sends its value to PORT1 (sent1); waits for go2, sends
that first value to PORT2 (sent2); waits for go3, sends the first value and then the file's
value now to PORT3 (sent3). Each send is its own connection.
usage: py_rotation_expiry.py FILE FLAGS PORT1 PORT2 PORT3"""
import os
import socket
import sys
import time

path, flags = sys.argv[1], sys.argv[2]
ports = [int(p) for p in sys.argv[3:6]]


def wait(name):
    p = os.path.join(flags, name)
    deadline = time.monotonic() + 120
    while not os.path.exists(p) and time.monotonic() < deadline:
        time.sleep(0.02)


def say(name):
    open(os.path.join(flags, name), "w").close()


def send(port, value):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("password=%s\n" % value).encode())
    s.close()


def read():
    with open(path) as f:
        return f.read().strip()


wait("go1")
old = read()
send(ports[0], old)
say("sent1")
wait("go2")
send(ports[1], old)
say("sent2")
wait("go3")
send(ports[2], old)
send(ports[2], read())
say("sent3")
