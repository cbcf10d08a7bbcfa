"""The briefing's three charts as PNG bytes: appeal types (pie), top-10 hotspots (bar), daily orders (line).

Optional: they need matplotlib (``pip install -e ".[charts]"``) and a CJK font that matplotlib can
find (Debian: ``apt-get install fonts-noto-cjk``). Without either the briefing is built without
charts and ``unavailable_reason()`` says what is missing; a chart with boxes instead of Chinese
characters is never drawn.

Style: a government document, not a dashboard: black text, greys, one red accent (the
masthead's red), no shadows, no 3-D, no legend boxes. Each figure is as wide as the DOCX places
it (14 cm) at 150 dpi, so its type prints at its nominal size. Shares printed in the charts come
from ``hotline.lib.shares`` with the same denominator as the tables (``grand_total``), so a chart
never disagrees with the table next to it.

matplotlib's global state (``pyplot``, ``rcParams``) is never touched: each chart is a
``matplotlib.figure.Figure`` with its own Agg canvas and every text gets its font explicitly,
so builds in parallel threads (the task worker) cannot interfere.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

from hotline.briefing.data import CountRow, HotspotRow
from hotline.lib.shares import format_share, share

# Preferred first: Debian's fonts-noto-cjk (黑体-like sans), then other common CJK families.
CJK_FONTS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Noto Serif CJK SC", "Source Han Serif SC",
    "Noto Sans CJK JP",
)
INSTALL_HINT = '安装图表组件：pip install -e ".[charts]"（matplotlib）'
FONT_HINT = "安装中文字体：apt-get install fonts-noto-cjk（或文泉驿、黑体等）"

RED = "#c00000"  # the accent: the largest share, the top hotspot, the daily line
INK = "#1a1a1a"
GREYS = ("#595959", "#7f7f7f", "#a6a6a6", "#bfbfbf", "#d0d0d0", "#8c8c8c", "#b3b3b3", "#6e6e6e", "#cccccc")
RULE = "#d9d9d9"

DPI = 150
WIDTH_PX = round(14 / 2.54 * DPI)  # 827: the DOCX places every chart 14 cm wide (render_docx._chart)
WIDTH_IN = WIDTH_PX / DPI
TITLE_PT, LABEL_PT, SMALL_PT = 10.5, 9, 8


# ---------------------------------------------------------------- availability


def _matplotlib_missing() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return True
    return False


@functools.cache
def _cjk_font_cached() -> str | None:
    from matplotlib import font_manager

    def known():
        present = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in present), None)

    if found := known():
        return found
    # matplotlib lists the system's fonts once and caches the list: a CJK font installed after that
    # (apt-get install fonts-noto-cjk on a machine that had already drawn a chart) stays unknown
    # until the cache is deleted. Look at the system's font files once more before giving up.
    listed = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in listed:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # a file FreeType cannot read is not a font we could use either
    return known()


def cjk_font() -> str | None:
    """The first CJK font family matplotlib knows, or None (None also without matplotlib)."""
    if _matplotlib_missing():
        return None
    return _cjk_font_cached()


def unavailable_reason() -> str | None:
    """None when charts can be drawn; otherwise what is missing and how to get it (Chinese, for the console)."""
    if _matplotlib_missing():
        return f"未安装 matplotlib，简报不含图表。{INSTALL_HINT}"
    if cjk_font() is None:
        return f"matplotlib 找不到中文字体，为免图中文字显示为方框，简报不含图表。{FONT_HINT}"
    return None


def available() -> bool:
    return unavailable_reason() is None


# ---------------------------------------------------------------- data


def daily_counts(year: int, month: int, *, using: str | None = None) -> tuple[tuple[dt.date, int], ...]:
    """Orders received (登记, all sources) on each local day of the month, zero days included.

    Counted over the same set as ``period_statistics`` (so the days add up to the briefing's
    ``grand_total``), one COUNT per local day: each is a range of the registration-time index, and
    31 of them cost a fifth of one GROUP BY on the local date, which converts the time zone of
    every order of the month (1.7M orders: 0.15 s against 0.8 s).
    """
    from hotline.analytics.stats import period_orders

    days = calendar.monthrange(year, month)[1]
    return tuple((d, period_orders(d, d, using=using).count())
                 for d in (dt.date(year, month, i) for i in range(1, days + 1)))


def chart_payload(data, daily: Sequence[tuple[dt.date, int]]) -> dict[str, Any]:
    """The same figures for the console's ECharts (passed with ``json_script``); shares as text."""
    return {
        "daily": {"days": [f"{d.day}日" for d, _ in daily], "counts": [n for _, n in daily],
                  "title": f"{data.period_label}每日工单量"},
        "appeal_types": [{"name": r.name, "value": r.count, "share": format_share(share(r.count, data.grand_total))}
                         for r in data.appeal_type_rows],
        "hotspots": [{"name": r.label, "value": r.count, "share": format_share(share(r.count, data.grand_total))}
                     for r in data.hotspot_rows],
    }


# ---------------------------------------------------------------- rendering


def render_charts(data, daily: Sequence[tuple[dt.date, int]] = ()) -> dict[str, bytes]:
    """All charts the data has figures for, keyed as ``BriefingData.charts``; {} when unavailable."""
    if not available():
        return {}
    out: dict[str, bytes] = {}
    if daily and any(n for _, n in daily):
        out["daily"] = daily_png(daily, f"{data.period_label}每日工单量")
    if data.appeal_type_rows and any(r.count for r in data.appeal_type_rows):
        out["appeal_types"] = appeal_types_png(data.appeal_type_rows, data.grand_total)
    if data.hotspot_rows:
        out["hotspots"] = hotspots_png(data.hotspot_rows, data.grand_total)
    return out


def _figure(height_cm: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_cm / 2.54), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _font(size: float, *, bold: bool = False):
    from matplotlib.font_manager import FontProperties

    return FontProperties(family=cjk_font(), size=size, weight="bold" if bold else "normal")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # No "Software" text chunk: the bytes depend only on the figures (snapshots compare equal).
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def _title(fig, text: str) -> None:
    fig.suptitle(text, fontproperties=_font(TITLE_PT, bold=True), color=INK, y=0.97)


def _plain_axes(ax, *, keep: Sequence[str] = ("bottom",)) -> None:
    for side, spine in ax.spines.items():
        spine.set_visible(side in keep)
        spine.set_color("#808080")
        spine.set_linewidth(0.8)
    ax.tick_params(colors="#404040", labelcolor=INK, length=3, width=0.8)


def _tick_fonts(ax, size: float = LABEL_PT) -> None:
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_fontproperties(_font(size))


def appeal_types_png(rows: Sequence[CountRow], grand_total: int) -> bytes:
    """Pie of the appeal types, largest slice red, a legend with count and share beside it."""
    rows = [r for r in rows if r.count > 0]
    fig = _figure(6.4)
    _title(fig, "诉求类型分布")
    ax = fig.add_axes((0.04, 0.03, 0.44, 0.80))
    largest = max(range(len(rows)), key=lambda i: rows[i].count)
    colors, grey = [], iter(GREYS * 3)
    for i in range(len(rows)):
        colors.append(RED if i == largest else next(grey))
    wedges, _ = ax.pie([r.count for r in rows], colors=colors, startangle=90, counterclock=False,
                       wedgeprops={"linewidth": 1, "edgecolor": "white"})
    ax.set_aspect("equal")
    labels = [f"{r.name}  {r.count}件  {format_share(share(r.count, grand_total))}" for r in rows]
    legend = fig.legend(wedges, labels, loc="center left", bbox_to_anchor=(0.52, 0.45), frameon=False,
                        prop=_font(LABEL_PT), handlelength=1.0, handleheight=1.0, labelspacing=0.8)
    for text in legend.get_texts():
        text.set_color(INK)
    return _png(fig)


def hotspots_png(rows: Sequence[HotspotRow], grand_total: int) -> bytes:
    """Horizontal bars of the hotspots in table order (largest on top), the first one red."""
    rows = list(rows)[:10]
    fig = _figure(2.2 + 0.75 * len(rows))
    _title(fig, "热点问题分布")
    ax = fig.add_axes((0.30, 0.03, 0.67, 1 - 0.03 - 1.25 / (2.2 + 0.75 * len(rows))))
    y = range(len(rows))
    counts = [r.count for r in rows]
    ax.barh(list(y), counts, height=0.62, color=[RED] + ["#8c8c8c"] * (len(rows) - 1))
    ax.set_yticks(list(y), [r.label for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, max(counts) * 1.32 or 1)  # room for the value label of the longest bar
    ax.set_xticks([])
    _plain_axes(ax, keep=("left",))
    ax.tick_params(axis="y", length=0, pad=6)
    _tick_fonts(ax)
    for i, r in enumerate(rows):
        ax.text(r.count, i, f" {r.count}件（{format_share(share(r.count, grand_total))}）", va="center",
                ha="left", fontproperties=_font(SMALL_PT), color=INK, clip_on=False)
    return _png(fig)


def daily_png(daily: Sequence[tuple[dt.date, int]], title: str) -> bytes:
    """The month's orders per day: a red line on light horizontal rules, weekends shaded."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(6.2)
    _title(fig, title)
    ax = fig.add_axes((0.08, 0.14, 0.89, 0.70))
    days = [d.day for d, _ in daily]
    counts = [n for _, n in daily]
    for d, _ in daily:
        if d.weekday() >= 5:
            ax.axvspan(d.day - 0.5, d.day + 0.5, color="#f2f2f2", linewidth=0, zorder=0)
    ax.plot(days, counts, color=RED, linewidth=1.6, marker="o", markersize=2.8, zorder=3)
    peak = max(range(len(counts)), key=counts.__getitem__)
    ax.annotate(f"{counts[peak]}", (days[peak], counts[peak]), xytext=(0, 5), textcoords="offset points",
                ha="center", va="bottom", fontproperties=_font(SMALL_PT), color=RED)
    ax.set_xlim(0.5, days[-1] + 0.5)
    ax.set_ylim(0, max(counts) * 1.15 or 1)
    ax.set_xticks([d for d in days if d == 1 or d % 5 == 0], [f"{d}日" for d in days if d == 1 or d % 5 == 0])
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.grid(axis="y", color=RULE, linewidth=0.6, zorder=1)
    ax.set_axisbelow(True)
    _plain_axes(ax, keep=("bottom",))
    ax.tick_params(axis="y", length=0)
    ax.set_ylabel("件", fontproperties=_font(SMALL_PT), color="#404040", rotation=0, labelpad=8, y=1.0)
    _tick_fonts(ax, SMALL_PT)
    return _png(fig)


def describe(charts: Mapping[str, bytes]) -> str:
    """'图表 3 幅' for console messages."""
    return f"图表 {len(charts)} 幅" if charts else "不含图表"
