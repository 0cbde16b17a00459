"""The rules: scope, registry, import, sync ingest, visit scheduling, alerts, push."""
