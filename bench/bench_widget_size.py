"""What a page that embeds the consultation widget downloads: the widget's script and styles,
raw and gzip-compressed (level 6, what web servers and proxies use by default, and level 9).

    .venv/bin/python bench/bench_widget_size.py [--json]

The widget renders answers as text (``textContent``) and loads no sanitiser, font, image or
framework: these two files are all of it. Target: under 25 KB gzipped together.
"""

from __future__ import annotations

import argparse
import gzip
import json

from benchlib import REPO, code_version

FILES = ("widget.js", "widget.css")
TARGET = 25 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in FILES:
        data = (REPO / "channels" / "static" / name).read_bytes()
        rows.append(
            {
                "file": name,
                "bytes": len(data),
                "gzip6": len(gzip.compress(data, compresslevel=6, mtime=0)),
                "gzip9": len(gzip.compress(data, compresslevel=9, mtime=0)),
            }
        )
    total = {k: sum(int(r[k]) for r in rows) for k in ("bytes", "gzip6", "gzip9")}
    result = {"code": code_version(), "files": rows, "total": total, "target_gzip": TARGET}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"code {result['code']}")
    print(f"{'file':<12}{'bytes':>10}{'gzip -6':>10}{'gzip -9':>10}")
    for r in rows:
        print(f"{r['file']:<12}{r['bytes']:>10}{r['gzip6']:>10}{r['gzip9']:>10}")
    print(f"{'total':<12}{total['bytes']:>10}{total['gzip6']:>10}{total['gzip9']:>10}")
    verdict = "under" if total["gzip6"] < TARGET else "OVER"
    print(f"gzipped total {total['gzip6'] / 1024:.1f} KB: {verdict} the {TARGET // 1024} KB target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
