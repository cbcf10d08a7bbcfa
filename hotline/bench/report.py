"""The benchmark's table (terminal) and its section of docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path


def machine(pg_version: str) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024 // 1024
    except OSError:
        pass
    return {"cpu": cpu or "?", "cores": os.cpu_count(), "ram_gib": mem, "postgres": pg_version,
            "python": platform.python_version(), "date": dt.date.today().isoformat()}


def _measure(row: dict) -> str:
    if row.get("value_text"):
        return row["value_text"]
    if "p50_ms" in row:
        text = f"p50 {row['p50_ms']:g} ms"
        if row.get("min_ms") is not None:
            text += f"（{row['min_ms']:g}–{row['max_ms']:g}，{row['n']} 次）"
        if row.get("p95_ms") is not None:
            text += f" · p95 {row['p95_ms']:g} ms"
        if "rate" in row:
            text = f"{_rate(row)} · " + text
        return text
    if "rate" in row:
        return _rate(row)
    if "seconds" in row:
        if row.get("min") is not None and row.get("n", 1) > 1:  # a median with its spread
            return f"{row['seconds']:g} s（{row['min']:g}–{row['max']:g}，{row['n']} 次）"
        return f"{row['seconds']:g} s"
    return ""


def _rate(row: dict) -> str:
    text = f"{row['rate']:g} {row.get('rate_unit', '/s')}"
    if row.get("rounds", 1) > 1:  # a median of repeated runs, with its spread
        text += f"（{row['rate_min']:g}–{row['rate_max']:g}，{row['rounds']} 轮）"
    return text


def _verdict(row: dict) -> str:
    if row.get("ok") is None:
        return ""
    return "✅" if row["ok"] else "❌"


def _ratio(row: dict) -> str:
    if row.get("ratio_text"):
        return row["ratio_text"]
    if row.get("ratio") is not None:
        return f"{row['ratio']:g}× 基线"
    return ""


def table(sections: list[tuple[str, list[dict]]]) -> str:
    """A Markdown table (readable in a terminal too)."""
    lines = ["| 测量 | 结果 | 对比基线 | 目标 | 达标 | 说明 |", "|---|---|---|---|---|---|"]
    for title, rows in sections:
        lines.append(f"| **{title}** | | | | | |")
        for r in rows:
            note = r.get("note", "")
            if "queries" in r:
                note = (note + "；" if note else "") + f"{r['queries']} 条 SQL"
            lines.append(f"| {r['name']} | {_measure(r)} | {_ratio(r)} | {r.get('target', '')} | {_verdict(r)} "
                         f"| {note} |")
    return "\n".join(lines)


def section(scale: str, info: dict, load: dict | None, body: str) -> str:
    head = (f"### 规模 {scale}（{info['date']}）\n\n"
            f"机器：{info['cpu']}，{info['cores']} 核，{info['ram_gib']} GiB 内存；{info['postgres']}；"
            f"Python {info['python']}。\n")
    if load:
        head += f"\n数据：{load}\n"
    return f"<!-- bench:{scale}:begin -->\n{head}\n{body}\n<!-- bench:{scale}:end -->"


def update_doc(path: Path, scale: str, text: str) -> None:
    """Replace this scale's section of the document (or append it); the rest is left alone."""
    doc = path.read_text("utf-8") if path.exists() else "# 性能基准（hotline bench）\n\n## 结果\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(scale)}:begin -->.*?<!-- bench:{re.escape(scale)}:end -->", re.S)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text, doc)
    else:
        marker = "<!-- bench:results -->"
        doc = doc.replace(marker, f"{marker}\n\n{text}") if marker in doc else doc.rstrip() + f"\n\n{text}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, "utf-8")
def update_section(path: Path, key: str, head: str, text: str) -> None:
    """A section of its own (triage, near-duplicates, hot problems, knowledge base): ``head`` and
    ``text`` between this key's markers, through ``update_doc``."""
    update_doc(path, key, f"<!-- bench:{key}:begin -->\n{head}\n{text}\n<!-- bench:{key}:end -->")


