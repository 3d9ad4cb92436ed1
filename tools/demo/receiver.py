#!/usr/bin/python3
"""A local HTTP endpoint for the demo (the "LLM API" and the "chat webhook"): answers 200
to anything. Writes its port to the file given as argv[1] once listening."""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_port))
os.rename(tmp, sys.argv[1])
server.serve_forever()
