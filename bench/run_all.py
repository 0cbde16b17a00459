"""make bench: every benchmark, each printing its figures."""
from bench import import_xlsx, ingest, meals, offline, overdue, push_fanout, requests, search, sizes, today

if __name__ == "__main__":
    for module in (import_xlsx, ingest, sizes, offline, push_fanout, search, meals, overdue, requests, today):
        print(f"== {module.__name__} ==")
        module.main()
