"""Copy the 64 laws and regulations of ../shared/knowledge/laws into knowledge/policies/laws/.

Each file `经济法_政府采购法(2014-08-31).md` becomes `knowledge/policies/laws/政府采购法-2014.md`:
a YAML front-matter block (see docs/knowledge-format.md) followed by the original bytes, unchanged.
Running the script again rewrites the same files; `--check` only reports files that are out of date.

    python scripts/import_laws.py [--source ../shared/knowledge/laws] [--dest knowledge/policies/laws]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "knowledge" / "laws"
DEFAULT_DEST = ROOT / "knowledge" / "policies" / "laws"
EXPECTED_COUNT = 64

NPCSC = "全国人民代表大会常务委员会"
NPC = "全国人民代表大会"
STATE_COUNCIL = "国务院"
URL = "https://flk.npc.gov.cn/"

FILE_NAME = re.compile(r"^(?P<group>[^_]+)_(?P<short>.+)\((?P<date>\d{4}-\d{2}-\d{2})\)\.md$")
INFO_END = "<!-- INFO END -->"
HEADER_DATE_LINE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(.*)$")

# Topic of each document by its short title; anything not listed is 其他.
CATEGORY = {
    "预算": ["预算法", "预算法实施条例", "政府投资条例", "国库券条例"],
    "政府采购": ["政府采购法", "政府采购法实施条例", "招标投标法", "招标投标法实施条例"],
    "会计": ["会计法", "注册会计师法", "总会计师条例", "企业财务会计报告条例"],
    "审计": ["审计法", "审计法实施条例", "中央预算执行情况审计监督暂行办法"],
    "国有资产": [
        "企业国有资产法",
        "企业国有资产产权登记管理办法",
        "企业国有资产监督管理暂行条例",
        "国有资产评估管理办法",
        "行政事业性国有资产管理条例",
    ],
    "社会保险": ["社会保险法", "社会保险经办条例", "社会保险费征缴暂行条例"],
    "财政监督": ["财政违法行为处罚处分条例"],
    "其他": ["保税区海关监管办法"],
}
TAX_WORDS = ("税",)  # 保税区 is customs supervision, not a tax: listed under 其他 below

# Older regulations abolished by a newer law in the same collection. Each pair was checked against
# the law's final article, which says "……《中华人民共和国…暂行条例》同时废止" (or 条例).
ABOLISHED_BY = {
    "契税暂行条例": "契税法",  # 契税法 第十六条
    "印花税暂行条例": "印花税法",  # 印花税法 第二十条
    "城市维护建设税暂行条例": "城市维护建设税法",  # 城市维护建设税法 第十一条
    "资源税暂行条例": "资源税法",  # 资源税法 第十七条
    "增值税暂行条例": "增值税法",  # 增值税法 第三十八条 (in force 2026-01-01)
    "进出口关税条例": "关税法",  # 关税法 第七十二条
}


@dataclass(frozen=True)
class Source:
    path: Path
    group: str  # 经济法 / 民法商法 / 社会法 / 行政法规
    short: str  # 政府采购法
    version: dt.date

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def parse_name(path: Path) -> Source:
    match = FILE_NAME.match(path.name)
    if not match:
        raise ValueError(f"{path.name}: not <group>_<title>(YYYY-MM-DD).md")
    return Source(
        path=path,
        group=match["group"],
        short=match["short"],
        version=dt.date.fromisoformat(match["date"]),
    )


def header_lines(text: str) -> list[str]:
    """Dated lines of the header block (before `<!-- INFO END -->`)."""
    head = text.split(INFO_END, 1)[0]
    return [line.strip() for line in head.splitlines() if HEADER_DATE_LINE.match(line.strip())]


def title_of(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ValueError("no '# ' title line")


def issuer_of(source: Source, text: str) -> str:
    if source.group == "行政法规":
        return STATE_COUNCIL
    # Laws: the body named in the last adoption/amendment line of the header.
    for line in reversed(header_lines(text)):
        if NPCSC in line:
            return NPCSC
        if NPC in line:
            return NPC
    raise ValueError(f"{source.path.name}: no adopting body in the header")


def effective_on(text: str) -> dt.date | None:
    """Date in force of this version, only where the text states it unambiguously.

    A header line `YYYY年M月D日 施行` names it; a law adopted once (a single header line) is in force
    from the date of its final `本法自YYYY年M月D日起施行` article. Amended laws keep the original
    date in that article, so nothing is claimed for them.
    """
    lines = header_lines(text)
    for line in lines:
        match = HEADER_DATE_LINE.match(line)
        if match and match[4].strip() == "施行":
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
    if len(lines) == 1 and lines[0].endswith("通过"):
        found = re.findall(r"本法自(\d{4})年(\d{1,2})月(\d{1,2})日起施行", text)
        if len(found) == 1:
            year, month, day = found[0]
            return dt.date(int(year), int(month), int(day))
    return None


def category_of(short: str) -> str:
    for category, titles in CATEGORY.items():
        if short in titles:
            return category
    if any(word in short for word in TAX_WORDS):
        return "税收"
    return "其他"


def assign_ids(sources: list[Source]) -> dict[Path, str]:
    """`<short>-<YYYY>`, or `<short>-<YYYY-MM-DD>` where two versions share a year."""
    by_year: dict[tuple[str, int], list[Source]] = {}
    for source in sources:
        by_year.setdefault((source.short, source.version.year), []).append(source)
    ids = {}
    for (short, year), group in by_year.items():
        for source in group:
            suffix = source.version.isoformat() if len(group) > 1 else str(year)
            ids[source.path] = f"{short}-{suffix}"
    return ids


def front_matter(source: Source, doc_id: str, ids_by_short: dict[str, list[str]]) -> dict:
    """Metadata of one law; ids_by_short lists the ids of each short title, oldest first."""
    text = source.text
    meta: dict = {
        "id": doc_id,
        "title": title_of(text),
        "issuer": issuer_of(source, text),
        "issued_on": source.version,
    }
    if (in_force := effective_on(text)) is not None:
        meta["effective_on"] = in_force
    status, superseded_by = "现行有效", None
    versions = ids_by_short[source.short]
    if len(versions) > 1 and doc_id != versions[-1]:
        # An older version of the same law (会计法-2017 → 会计法-2024).
        status, superseded_by = "已修改", versions[-1]
    elif source.short in ABOLISHED_BY:
        replacing = ids_by_short.get(ABOLISHED_BY[source.short])
        if not replacing:
            raise ValueError(f"{source.short}: replacing law {ABOLISHED_BY[source.short]} missing")
        status, superseded_by = "已废止", replacing[-1]
    meta["status"] = status
    if superseded_by:
        meta["superseded_by"] = superseded_by
    meta["disclosure"] = "主动公开"
    meta["category"] = category_of(source.short)
    meta["url"] = URL
    return meta


def render(meta: dict, body: bytes) -> bytes:
    block = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return b"---\n" + block.encode("utf-8") + b"---\n" + body


def build(source_dir: Path) -> dict[str, bytes]:
    """File name → full content for every law in source_dir."""
    sources = [parse_name(path) for path in sorted(source_dir.glob("*.md"))]
    ids = assign_ids(sources)
    ids_by_short: dict[str, list[str]] = {}  # oldest version first
    for source in sorted(sources, key=lambda source: source.version):
        ids_by_short.setdefault(source.short, []).append(ids[source.path])
    out = {}
    for source in sources:
        doc_id = ids[source.path]
        meta = front_matter(source, doc_id, ids_by_short)
        out[f"{doc_id}.md"] = render(meta, source.path.read_bytes())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    args = parser.parse_args(argv)

    files = build(args.source)
    if len(files) != EXPECTED_COUNT:
        print(f"warning: {len(files)} laws found, expected {EXPECTED_COUNT}", file=sys.stderr)
    stale = [
        name
        for name, content in files.items()
        if not (args.dest / name).is_file() or (args.dest / name).read_bytes() != content
    ]
    if args.check:
        for name in stale:
            print(f"out of date: {args.dest / name}")
        return 1 if stale else 0
    args.dest.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.dest / name).write_bytes(files[name])
    print(f"{len(files)} laws in {args.dest}, {len(stale)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
