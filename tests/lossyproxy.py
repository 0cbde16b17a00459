"""An HTTP proxy on loopback that loses traffic: it drops a share of requests
before forwarding them, and a share of responses after the server has answered
(so after it committed). Bounded: it serves until stopped."""
import http.client
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class LossyProxy:
    def __init__(self, target_port, drop_request=0.3, drop_response=0.3, seed=1):
        self.target_port = target_port
        self.drop_request, self.drop_response = drop_request, drop_response
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "dropped_requests": 0, "dropped_responses": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    proxy.stats["requests"] += 1
                    lose_request = proxy.rng.random() < proxy.drop_request
                    lose_response = proxy.rng.random() < proxy.drop_response
                if lose_request:
                    proxy.stats["dropped_requests"] += 1
                    self.close_connection = True
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                if lose_response:
                    proxy.stats["dropped_responses"] += 1
                    self.close_connection = True
                    return
                self.send_response(response.status)
                for k, v in response.getheaders():
                    if k.lower() not in HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
