"""Copy the pages kept beside the site into it, so that they read whole everywhere.

``docs/bad-input.md``, ``docs/faults.md`` and ``docs/benchmarks.md`` are the sources: tests
read their tables (``tests/test_bad_input.py`` runs a test per row of bad-input.md) and new
rows are appended there. The site shows ``docs/content/NAME``, a copy with a first line that
says where it comes from; on GitHub that copy reads as the page itself, not as an include
line. ``tests/test_docs.py`` fails while a copy is stale.

    python docs/sync_pages.py           # rewrite the copies
    python docs/sync_pages.py --check   # exit status 1 if a copy is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAGES = ("bad-input.md", "benchmarks.md", "faults.md")


def copy_of(name: str) -> str:
    """What ``docs/content/NAME`` must hold: a note on its source, then the source."""
    source = (DOCS / name).read_text(encoding="utf-8")
    note = (
        f"<!-- Copied from docs/{name} by docs/sync_pages.py: edit docs/{name}, "
        "then run python docs/sync_pages.py. -->\n"
    )
    return note + source


def stale() -> list[str]:
    """The pages whose copy in docs/content differs from their source."""
    return [
        name
        for name in PAGES
        if not (DOCS / "content" / name).is_file()
        or (DOCS / "content" / name).read_text(encoding="utf-8") != copy_of(name)
    ]


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        for name in stale():
            print(f"docs/content/{name} is stale: run python docs/sync_pages.py")
        return 1 if stale() else 0
    if argv:
        print(__doc__)
        return 2
    for name in stale():
        (DOCS / "content" / name).write_text(copy_of(name), encoding="utf-8")
        print(f"wrote docs/content/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
