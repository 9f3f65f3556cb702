"""A loopback HTTP server process answering generated feeds with ETags (304 when unchanged)."""

from __future__ import annotations

import hashlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from feedgen import feed_xml


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The listen() backlog, read when the constructor binds: setting it on the instance afterwards
    # (as this file did) left socketserver's 5, and a pool worker opening 16 connections to one
    # server at once had SYNs dropped and retried a second later (netstat: "listen queue of a
    # socket overflowed"). Sites answer from real servers; the loopback stand-in must not stall.
    request_queue_size = 1024


def serve(host: str, port: int, items: int, warm: list[int]) -> None:
    cache: dict[int, tuple[bytes, str]] = {}
    for index in warm:  # generated before "ready": the clients are timed, not the feed generator
        body = feed_xml(index, items, base=f"http://{host}:{port}")
        cache[index] = (body, '"' + hashlib.md5(body).hexdigest() + '"')

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            try:
                index = int(self.path.strip("/").split("/")[1].split(".")[0])
            except (IndexError, ValueError):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if index not in cache:
                body = feed_xml(index, items, base=f"http://{host}:{port}")
                cache[index] = (body, '"' + hashlib.md5(body).hexdigest() + '"')
            body, etag = cache[index]
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = _Server((host, port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    first, count, step = (int(value) for value in sys.argv[4:7]) if len(sys.argv) > 4 else (0, 0, 1)
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), list(range(first, count, step)))
