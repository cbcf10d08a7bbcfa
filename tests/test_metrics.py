"""The metrics package: every definition documented, and imports that point one way (DESIGN.md §5)."""

from __future__ import annotations

import ast
from pathlib import Path

from hotline.metrics import definitions
from hotline.metrics.document import render

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "hotline"

# DESIGN.md §5: lib ← accounts, directory, catalog ← workorders ← intake, triage ← metrics ←
# analytics ← assessment ← briefing. A package may import its own layer's siblings only where
# DESIGN.md lists none between them; here: none (a sibling import would hide a cycle).
LAYERS = {
    "lib": 0,
    "accounts": 1, "directory": 1, "catalog": 1,
    "workorders": 2,
    "intake": 3, "triage": 3, "notify": 3, "knowledge": 3,
    "metrics": 4,
    "analytics": 5,
    "assessment": 6,
    "briefing": 7,
}
# Packages above the ordered ones (they may read any of them; none of them may read these).
TOP = {"web", "open311", "portal", "demo", "bench"}


def test_docs_are_generated_from_the_definitions():
    text = (ROOT / "docs" / "metrics.md").read_text("utf-8")
    assert text == render(), "docs/metrics.md is stale: python -m hotline.metrics.document > docs/metrics.md"
    for d in definitions.ALL:
        assert f"| {d.name} | `{d.key}` |" in text
        assert d.basis_text in text
    # Every rate's counts are counts the unit figures carry.
    for d in definitions.UNIT_RATES:
        assert {d.numerator, d.denominator} <= set(definitions.UNIT_COUNT_KEYS), d.key


def test_the_ten_indicators_of_issue_11_are_defined():
    names = {d.name for d in definitions.ALL}
    for name in ("及时签收率", "按时办结率", "超期工单", "满意率", "解决率", "回访率", "退单率", "重办率",
                 "上级交办满意率", "直接答复率", "话务量", "本级登记事项", "协调办理", "交办处理",
                 "上级交办事项", "诉求类型", "热点问题"):
        assert name in names, name


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``hotline.…`` module imported by a file (at any depth: lazy imports count too)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # ``from hotline import metrics`` names the package in the alias.
            if node.module == "hotline":
                found += [(node.lineno, f"hotline.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if name.startswith("hotline.")]


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_imports_point_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT)
        source = _package(".".join(rel.with_suffix("").parts))
        if source not in LAYERS:
            continue
        for line, module in _imports(path):
            target = _package(module)
            if target == source:
                continue
            if target in TOP or (target in LAYERS and LAYERS[target] >= LAYERS[source]):
                wrong.append(f"{rel}:{line} ({source}) imports {module}")
    assert wrong == []


def test_one_stats_command():
    commands = sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.glob("*/management/commands/stats.py"))
    assert commands == ["hotline/analytics/management/commands/stats.py"]
