"""A webhook receiver for the benchmarks, on 127.0.0.1 only.

Prints its port on the first line of stdout, then serves until terminated:
  POST <any path>        -> 200, counted (per event header, per path, per delivery id)
  POST /slow/SECONDS/... -> 200 after SECONDS
  GET  /stats            -> the counts as JSON
  POST /reset            -> forget the counts
Keep-alive (HTTP/1.1) and one thread per connection, like a small real receiver.
"""

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {"requests": 0, "events": {}, "paths": {}, "ids": set(), "duplicates": 0, "bytes": 0}


def reset():
    with LOCK:
        STATS.update({"requests": 0, "events": {}, "paths": {}, "ids": set(), "duplicates": 0, "bytes": 0})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                out = dict(STATS)
                out["ids"] = len(STATS["ids"])
            self.answer(200, json.dumps(out).encode())
        else:
            self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/reset":
            reset()
            self.answer(200)
            return
        if self.path.startswith("/slow/"):
            time.sleep(float(self.path.split("/")[2]))
        event = self.headers.get("X-AtomGit-Event") or self.headers.get("X-Gitlab-Event") or "-"
        delivery = self.headers.get("X-AtomGit-Delivery")
        with LOCK:
            STATS["requests"] += 1
            STATS["bytes"] += len(body)
            STATS["events"][event] = STATS["events"].get(event, 0) + 1
            STATS["paths"][self.path] = STATS["paths"].get(self.path, 0) + 1
            if delivery:
                if delivery in STATS["ids"]:
                    STATS["duplicates"] += 1
                STATS["ids"].add(delivery)
        self.answer(200)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
