#!/usr/bin/python3
"""e2e agent: a parent that hands a secret to its child in the environment, as Kubernetes
does with secretKeyRef: reads the value from SECRET_FILE and runs this same script as the
child with NAME=value in its environment; the child waits for GO_FILE, then sends
NAME=value to 127.0.0.1:PORT over TCP.
usage: py_env_parent.py SECRET_FILE NAME PORT GO_FILE"""
import os
import socket
import subprocess
import sys
import time

secret_file, name, port, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if os.environ.get("PY_ENV_CHILD") != "1":
    with open(secret_file) as f:
        value = f.read().strip()
    env = dict(os.environ, PY_ENV_CHILD="1")
    env[name] = value
    sys.exit(subprocess.run([sys.executable] + sys.argv, env=env).returncode)
deadline = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.02)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("%s=%s\n" % (name, os.environ[name])).encode())
s.close()
