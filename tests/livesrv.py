"""A real HTTP server for the app on loopback, which tests can stop and start again."""
import socket
import threading

from werkzeug.serving import make_server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _InFlight:
    """WSGI middleware counting requests still being answered, so stop() can wait for them: a
    request left running (a service worker's precache) must not hold database locks into the
    next test's clean-up."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.idle = threading.Condition()

    def _done(self):
        with self.idle:
            self.count -= 1
            self.idle.notify_all()

    def __call__(self, environ, start_response):
        with self.idle:
            self.count += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return self._closing(body)

    def _closing(self, body):
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            try:
                if close:
                    close()
            finally:
                self._done()

    def wait_idle(self, timeout):
        with self.idle:
            return self.idle.wait_for(lambda: self.count == 0, timeout)


class LiveServer:
    def __init__(self, app, port=None):
        self.app = app
        self._inflight = _InFlight(app)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread = None

    def start(self):
        self._server = make_server("127.0.0.1", self.port, self._inflight, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._inflight.wait_idle(15)  # requests already accepted finish before the next test
            self._server = None

    @property
    def running(self):
        return self._server is not None
