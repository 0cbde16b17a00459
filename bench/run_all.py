"""make bench: every benchmark, each printing its figures."""
from bench import import_xlsx, ingest, push_fanout, sizes

if __name__ == "__main__":
    for module in (import_xlsx, ingest, sizes, push_fanout):
        print(f"== {module.__name__} ==")
        module.main()
