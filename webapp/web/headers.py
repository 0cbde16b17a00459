"""Headers every answer gets: a strict Content-Security-Policy (no inline script or style:
htmx is configured by a meta tag not to inject styles nor eval), no framing, nosniff, a
Referrer-Policy, HSTS over HTTPS only, and `Cache-Control: no-store` on everything that may
carry personal data (pages, JSON, exports). Static files, the service worker script, the
manifest and the i18n scripts keep their own caching; the service worker's caches are its
own (the Cache API does not obey Cache-Control) and are unaffected."""

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

# Answers without personal data that browsers may cache by their own rules.
CACHEABLE = {"static", "offline.service_worker", "offline.manifest", "offline.i18n_script", "main.healthz"}


def install(app):
    @app.after_request
    def security_headers(response):
        from flask import request
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            h.add("Vary", "HX-Request")
        if request.endpoint not in CACHEABLE:
            h["Cache-Control"] = "no-store"
            h.pop("Expires", None)
        return response
