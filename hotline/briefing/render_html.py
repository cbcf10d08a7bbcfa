"""Render a ``BriefingData`` as a self-contained HTML fragment for the console preview.

Same blocks and wording as the DOCX (``narrative.compose``). No external assets: the styles are
inline and scoped under ``.hl-briefing``, charts are embedded as data: URIs. Every piece of text
goes through ``html.escape``: unit names and case texts come from user input.
"""

from __future__ import annotations

import base64
from html import escape as _escape

from hotline.briefing import narrative
from hotline.briefing.data import BriefingData
from hotline.briefing.narrative import Annex, Chart, Heading, Paragraph, Table
from hotline.lib.text import scrub


def escape(text) -> str:
    """HTML-escaped and scrubbed: the preview shows what the DOCX will hold."""
    return _escape(scrub(str(text)))

_STYLE = """
.hl-briefing{max-width:46em;margin:0 auto;padding:2em 2.5em;background:#fff;color:#111;
  font-family:"FangSong_GB2312","FangSong","仿宋","Noto Serif CJK SC","Source Han Serif SC",serif;
  font-size:16px;line-height:1.8}
.hl-briefing .hl-b-issue{display:flex;justify-content:space-between}
.hl-briefing .hl-b-title{margin:.6em 0 0;text-align:center;color:#e60012;font-weight:bold;font-size:1.7em;
  line-height:1.45;font-family:"FZXiaoBiaoSong-B05S","方正小标宋简体","Noto Serif CJK SC",serif}
.hl-briefing .hl-b-rule{border:0;border-top:3px solid #e60012;margin:.4em 0 1.4em}
.hl-briefing h3{margin:.3em 0;text-indent:2em;font-size:1em;font-weight:normal;
  font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif}
.hl-briefing p{margin:0;text-indent:2em;text-align:justify}
.hl-briefing p.hl-b-annex-list{text-indent:0;padding-left:5em}
.hl-briefing p.hl-b-annex-list.hl-b-first{text-indent:-3em;margin-top:1.8em}
.hl-briefing p.hl-b-disclosure{margin-top:1.8em}
.hl-briefing table{border-collapse:collapse;margin:.3em auto 1em;min-width:60%;font-size:.9em}
.hl-briefing caption{font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif;padding:.6em 0 .3em}
.hl-briefing th,.hl-briefing td{border:1px solid #333;padding:.15em .8em}
.hl-briefing th{font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif}
.hl-briefing td.hl-b-center{text-align:center;font-variant-numeric:tabular-nums}
.hl-briefing td.hl-b-right{text-align:right;font-variant-numeric:tabular-nums}
.hl-briefing tr.hl-b-total td{font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif}
.hl-briefing figure{margin:.5em 0;text-align:center}
.hl-briefing figure img{max-width:100%}
.hl-briefing .hl-b-annex{margin-top:2.5em;padding-top:1.5em;border-top:1px dashed #bbb}
.hl-briefing .hl-b-annex-label{font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif}
.hl-briefing .hl-b-note{text-indent:0;font-size:.9em}
.hl-briefing .hl-b-print{display:flex;justify-content:space-between;margin-top:2.5em;padding:.2em 1em;
  border-top:1px solid #111;border-bottom:1px solid #111;font-size:.9em}
"""


def render_html(data: BriefingData) -> str:
    out = [f"<article class=\"hl-briefing\" lang=\"zh-CN\">\n<style>{_STYLE}</style>"]
    out.append(
        f"<div class=\"hl-b-issue\"><span>{escape(data.issuer)}</span>"
        f"<span>{escape(narrative.chinese_date(data.issue_date))}</span></div>"
    )
    out.append(f"<h1 class=\"hl-b-title\">{escape(data.hotline_name)}<br>{escape(data.title)}</h1>")
    out.append("<hr class=\"hl-b-rule\">")
    for block in narrative.compose(data):
        if isinstance(block, Heading):
            out.append(f"<h3>{escape(block.text)}</h3>")
        elif isinstance(block, Paragraph):
            out.append(_paragraph(block))
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Chart):
            src = "data:image/png;base64," + base64.b64encode(data.charts[block.key]).decode("ascii")
            out.append(f"<figure><img src=\"{src}\" alt=\"{escape(block.alt)}\"></figure>")
        elif isinstance(block, Annex):
            out.append(
                f"<section class=\"hl-b-annex\"><div class=\"hl-b-annex-label\">{escape(block.label)}</div>"
                f"{_table(block.table)}</section>"
            )
    out.append(
        f"<div class=\"hl-b-print\"><span>{escape(data.issuer)}</span>"
        f"<span>{escape(narrative.chinese_date(data.issue_date))}印</span></div>"
    )
    out.append("</article>")
    return "\n".join(out)


def _paragraph(block: Paragraph) -> str:
    classes = {
        "body": "",
        "disclosure": "hl-b-disclosure",
        "annex_list": "hl-b-annex-list" + (" hl-b-first" if block.text.startswith("附件：") else ""),
    }.get(block.kind, "")
    attr = f" class=\"{classes}\"" if classes else ""
    return f"<p{attr}>{escape(block.text)}</p>"


def _table(block: Table) -> str:
    parts = [f"<table><caption>{escape(block.title)}</caption><thead><tr>"]
    parts.extend(f"<th scope=\"col\">{escape(h)}</th>" for h in block.header)
    parts.append("</tr></thead><tbody>")
    for row in block.rows:
        parts.append("<tr>" + _cells(row, block.align) + "</tr>")
    parts.append("</tbody>")
    if block.total_row:
        parts.append("<tfoot><tr class=\"hl-b-total\">" + _cells(block.total_row, block.align) + "</tr></tfoot>")
    parts.append("</table>")
    if block.note:
        parts.append(f"<p class=\"hl-b-note\">{escape(block.note)}</p>")
    return "".join(parts)


def _cells(values, align) -> str:
    cells = []
    for i, value in enumerate(values):
        how = align[i] if i < len(align) else "center"
        cls = f" class=\"hl-b-{how}\"" if how != "left" else ""
        cells.append(f"<td{cls}>{escape(value)}</td>")
    return "".join(cells)
