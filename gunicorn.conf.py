"""gunicorn settings for the production stack (read from the environment)."""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 20
max_requests = 5000
max_requests_jitter = 500
accesslog = None  # Linli writes its own JSON access line per request, with the request id
errorlog = "-"
raw_env = ["LOG_FORMAT=" + os.environ.get("LOG_FORMAT", "json")]
