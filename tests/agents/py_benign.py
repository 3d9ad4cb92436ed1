#!/usr/bin/python3
"""Benign traffic for false-positive checks: after reading every secret under
secret/data/fp and waiting until the tracer's EVENTS file shows them all learned (so that
every byte is scanned against the full dictionary), writes MBYTES MiB to OUT and TCP PORT:
English-like text, binary, random bytes, and near misses of the learned secrets (each with
one byte changed, and every proper prefix), in 64 KiB writes. Prints the bytes written.
usage: py_benign.py VAULT_URL CREDS PORT OUT MBYTES EVENTS"""
import json
import os
import random
import socket
import sys
import time
import urllib.request

vault, creds, port, out, mbytes, events = (sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4],
                                           int(sys.argv[5]), sys.argv[6])
with open(creds) as f:
    root = json.load(f)["root_token"]
req = urllib.request.Request(vault + "/v1/secret/data/fp", headers={"X-Vault-Token": root})
with urllib.request.urlopen(req, timeout=30) as r:
    secrets = list(json.load(r)["data"]["data"].values())

deadline = time.time() + 60
while time.time() < deadline:
    with open(events) as f:
        if sum('"action":"secret.receive"' in l and '"source":"response"' in l for l in f) >= len(secrets):
            break
    time.sleep(0.05)

rng = random.Random(42)
words = ("the of and to in is you that it he was for on are as with his they at be this have "
         "from or one had by word but not what all were we when your can said there use an each "
         "which she do how their if will up other about out many then them these so some her "
         "would make like him into time has look two more write go see number no way could people "
         "token password secret key api bearer authorization vault lease request").split()


def near_misses():
    b = bytearray()
    for s in secrets:
        v = bytearray(s.encode())
        i = rng.randrange(len(v))
        v[i] = (v[i] + 1 - 32) % 95 + 32 if 32 <= v[i] < 127 else (v[i] + 1) % 256
        b += v + b" " + s.encode()[:-1] + b"\n"
        b += s.encode()[:len(s) // 2] + b"|" + s.encode()[len(s) // 2 + 1:] + b"\n"
    return bytes(b)


kinds = [
    lambda n: " ".join(rng.choice(words) for _ in range(n // 5)).encode()[:n],
    lambda n: bytes(rng.getrandbits(8) for _ in range(min(n, 4096))) * (n // 4096 + 1),
    lambda n: os.urandom(n),
    lambda n: (near_misses() * (n // max(1, len(near_misses())) + 1))[:n],
]
chunk = 64 * 1024
blocks = [k(chunk)[:chunk] for k in kinds for _ in range(4)]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
total = 0
with open(out, "wb", buffering=0) as f:
    while total < mbytes << 20:
        b = blocks[(total // chunk) % len(blocks)]
        f.write(b)
        s.sendall(b)
        total += 2 * len(b)
s.close()
print(total)
