#!/usr/bin/env python3
"""Prints the code-point class table of frontend/gguf/tokenizer.c (UNI_RANGES).

The GPT-2 pre-tokenizer needs \\p{L} (letters) and \\p{N} (numbers) above
ASCII.  The table is Python's unicodedata (Unicode 14.0 for Python 3.11):
maximal runs of general category L* or N*, where a run may bridge code points
that are unassigned (Cn) in that version, which keeps the table at ~480 entries.
Code points assigned after that version inside such a bridge take the class of
the run; outside any run they are "other".

    python3 tests/gguf/gen_unicode_ranges.py > /tmp/ranges.inc
"""
import sys
import unicodedata


def cls(c):
    cat = unicodedata.category(chr(c))
    if cat[0] == "L":
        return "L"
    if cat[0] == "N":
        return "N"
    return None if cat == "Cn" else "O"


def runs():
    out = []
    start = last = kind = None
    for c in range(0x80, 0x110000):
        k = cls(c)
        if k is None and start is not None:
            continue  # bridge unassigned code points
        if k == kind and start is not None:
            last = c
            continue
        if start is not None and kind in "LN":
            out.append((start, last, kind))
        start, last, kind = (c, c, k) if k in ("L", "N") else (None, None, None)
    if start is not None:
        out.append((start, last, kind))
    return out


def main():
    r = runs()
    print(f"/* {len(r)} ranges, Unicode {unicodedata.unidata_version}: tests/gguf/gen_unicode_ranges.py */")
    for i in range(0, len(r), 4):
        print("    " + " ".join(f"{{0x{a:05X}, 0x{b:05X}, CP_{k}}}," for a, b, k in r[i:i + 4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
