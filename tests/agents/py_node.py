#!/usr/bin/python3
"""e2e agent for the node modes (--all, --cgroup): the roles a secret passes through.

usage:
  py_node.py fetch VAULT_URL TOKEN_FILE [--tcp PORT] [--file PATH] [--unix PATH]
      read secret/data/agent/openai and send api_key to each place given
  py_node.py relay --file PATH --tcp PORT         on SIGUSR1: read PATH, send it to PORT
  py_node.py serve --unix PATH --tcp PORT         accept one unix connection, send what it
                                                  reads to PORT
  py_node.py bystander --issued LOG --tcp PORT    on SIGUSR1: take api_key from the Vault
                                                  stand-in's issued log (a path no traced
                                                  write reaches) and send it to PORT
Roles that wait print "ready" on stdout first."""
import argparse
import json
import os
import signal
import socket
import sys
import urllib.request


def send_tcp(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)


def wait_signal():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print("ready", flush=True)
    signal.sigwait({signal.SIGUSR1})


ap = argparse.ArgumentParser()
ap.add_argument("role", choices=["fetch", "relay", "serve", "bystander"])
ap.add_argument("vault", nargs="?")
ap.add_argument("token_file", nargs="?")
ap.add_argument("--tcp", type=int)
ap.add_argument("--file")
ap.add_argument("--unix")
ap.add_argument("--issued")
ap.add_argument("--linger", type=float, default=0, help="stay this long after the last send")
a = ap.parse_args()

if a.role == "fetch":
    with open(a.token_file) as f:
        token = f.read().strip()
    req = urllib.request.Request(a.vault + "/v1/secret/data/agent/openai",
                                 headers={"X-Vault-Token": token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        value = json.loads(resp.read())["data"]["data"]["api_key"]
    line = ("key=%s\n" % value).encode()
    if a.tcp:
        send_tcp(a.tcp, line)
    if a.file:
        with open(a.file, "wb") as f:
            f.write(line)
    if a.unix:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(a.unix)
            s.recv(1)  # the server has accepted: its end has a file, which events name
            s.sendall(line)
elif a.role == "relay":
    wait_signal()
    with open(a.file, "rb") as f:
        send_tcp(a.tcp, b"relayed " + f.read())
elif a.role == "serve":
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(a.unix)
    srv.listen(1)
    print("ready", flush=True)
    conn, _ = srv.accept()
    conn.sendall(b"+")
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    send_tcp(a.tcp, b"served " + data)
elif a.role == "bystander":
    wait_signal()
    value = None
    with open(a.issued) as f:
        for line in f:
            r = json.loads(line)
            if r["field"] == "api_key":
                value = r["value"]
    if value is None:
        sys.exit("no api_key in the issued log")
    send_tcp(a.tcp, ("bystander %s\n" % value).encode())
if a.linger:
    import time
    time.sleep(a.linger)
