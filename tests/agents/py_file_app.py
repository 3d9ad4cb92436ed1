#!/usr/bin/python3
"""e2e agent: an application that gets its secrets from files a sidecar rendered. Reads
KEY from ENV_FILE (export KEY="value" lines) and sends KEY=value to 127.0.0.1:PORT over TCP,
then writes LOG_KEY's value into LOG_FILE.
usage: py_file_app.py ENV_FILE PORT KEY LOG_KEY LOG_FILE [--wait PATH]
  --wait: before reading, wait until PATH exists (the test says go)"""
import argparse
import os
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument("env_file")
ap.add_argument("port", type=int)
ap.add_argument("key")
ap.add_argument("log_key")
ap.add_argument("log_file")
ap.add_argument("--wait")
a = ap.parse_args()
if a.wait:
    deadline = time.monotonic() + 60
    while not os.path.exists(a.wait) and time.monotonic() < deadline:
        time.sleep(0.02)
values = {}
with open(a.env_file) as f:
    for line in f:
        k, _, v = line.strip().removeprefix("export ").partition("=")
        values[k] = v.strip('"')
s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
s.sendall(("%s=%s\n" % (a.key, values[a.key])).encode())
s.close()
with open(a.log_file, "a") as f:
    f.write("connected with password %s\n" % values[a.log_key])
