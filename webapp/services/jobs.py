"""Background jobs: RQ on Redis when REDIS_URL is set, an in-process thread otherwise.

Progress is kept where every process of the deployment can read it: Redis, or
memory in the embedded single-process mode.
"""
import importlib
import json
import threading

from flask import current_app, has_app_context

_progress = {}
_lock = threading.Lock()


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    return Redis.from_url(url)


def set_progress(key, **values):
    r = _redis()
    if r is not None:
        r.set(f"linli:progress:{key}", json.dumps(values), ex=24 * 3600)
        return
    with _lock:
        _progress[key] = dict(values)


def get_progress(key):
    r = _redis()
    if r is not None:
        raw = r.get(f"linli:progress:{key}")
        return json.loads(raw) if raw else None
    with _lock:
        return dict(_progress[key]) if key in _progress else None


def _resolve(path):
    module, name = path.rsplit(":", 1)
    return getattr(importlib.import_module(module), name)


_worker_app = None


def run_in_app(path, *args):
    """Entry point in the worker process: run the job inside the worker's app."""
    global _worker_app
    if has_app_context():
        return _resolve(path)(*args)
    if _worker_app is None:
        from .. import create_app
        _worker_app = create_app()
    with _worker_app.app_context():
        return _resolve(path)(*args)


def enqueue(path, *args, queue="default"):
    """Run `module:function(*args)` in the background, inside an app context."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_INLINE"):
        return _resolve(path)(*args)
    r = _redis()
    if r is not None:
        from rq import Queue
        return Queue(queue, connection=r).enqueue(run_in_app, path, *args, job_timeout=3600)

    def target():
        with app.app_context():
            _resolve(path)(*args)

    thread = threading.Thread(target=target, daemon=True, name=f"job:{path}")
    thread.start()
    return thread
