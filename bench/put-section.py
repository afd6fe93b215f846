#!/usr/bin/env python3
"""Puts a section into a results file (bench/results.md): replaces the section whose heading
starts with HEADING (up to the next `## ` heading), or inserts it before "## Reference", or
appends it. The section's text comes on stdin.

usage: put-section.py FILE HEADING < SECTION
"""

import pathlib
import re
import sys


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, heading = pathlib.Path(sys.argv[1]), sys.argv[2]
    section = sys.stdin.read().rstrip("\n") + "\n\n"
    text = path.read_text() if path.exists() else ""
    old = re.compile(r"^" + re.escape(heading) + r".*?(?=^## |\Z)", re.M | re.S)
    if old.search(text):
        text = old.sub(lambda _: section, text, count=1)
    elif (at := text.find("\n## Reference")) >= 0:
        text = text[:at + 1] + section + text[at + 1:]
    else:
        text += ("\n" if text and not text.endswith("\n\n") else "") + section
    path.write_text(text)


if __name__ == "__main__":
    main()
