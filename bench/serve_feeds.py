#!/usr/bin/env python3
"""Serves a folder of feed files over HTTP on 127.0.0.1 for bench/ingest.sh
(`newswatch once` against loopback).

The files are read into memory first, so the server costs little next to
the client: HTTP/1.1 with keep-alive, one thread per connection, a
Content-Type from the document's root element (application/rss+xml or
application/atom+xml), Content-Length, no compression, no validators
(every poll gets a 200 with the body). GET and HEAD of /NAME only.

Binds port 0 unless --port is given (the system picks a free port) and
writes the port to --port-file once it is listening. On SIGTERM or SIGINT
it prints "served N requests (M not found, B bytes)" to stderr and exits 0.

Usage: python3 bench/serve_feeds.py DIR [--port N] [--port-file FILE]
"""
import argparse
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def content_type(data):
    head = data[:2048]
    if b"<feed" in head:
        return "application/atom+xml; charset=utf-8"
    if b"<rss" in head or b"<rdf:RDF" in head:
        return "application/rss+xml; charset=utf-8"
    return "application/xml; charset=utf-8"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()

    files = {}
    for name in sorted(os.listdir(a.dir)):
        path = os.path.join(a.dir, name)
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                data = fh.read()
            files["/" + name] = (data, content_type(data))
    stats = {"requests": 0, "missing": 0, "bytes": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "serve_feeds/1"

        def _answer(self, body):
            path = self.path.split("?", 1)[0]
            hit = files.get(path)
            with lock:
                stats["requests"] += 1
                stats["missing"] += hit is None
                stats["bytes"] += len(hit[0]) if hit and body else 0
            if hit is None:
                msg = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                if body:
                    self.wfile.write(msg)
                return
            data, ctype = hit
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self):
            self._answer(True)

        def do_HEAD(self):
            self._answer(False)

        def log_message(self, fmt, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

        def handle_error(self, request, client_address):
            # A client closing its keep-alive connection is not an error.
            if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                return
            super().handle_error(request, client_address)

    srv = Server(("127.0.0.1", a.port), Handler)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % port)
        os.replace(tmp, a.port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("serving %d files from %s on http://127.0.0.1:%d/" % (len(files), a.dir, port), file=sys.stderr)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
    print("served %d requests (%d not found, %d bytes)" % (stats["requests"], stats["missing"], stats["bytes"]),
          file=sys.stderr)


if __name__ == "__main__":
    main()
