"""Render a ``BriefingData`` as a DOCX laid out like a Chinese government document (公文).

A4 with the 公文 margins (top 3.7 cm, bottom 3.5 cm, left 2.8 cm, right 2.6 cm); masthead in
方正小标宋简体 二号 over a red rule; headings in 黑体 三号; body in 仿宋_GB2312 三号 with a two-character
first-line indent and a fixed 29 pt line pitch (22 lines a page); annexes on their own pages; the
printing line (…印) between rules at the end; "— 1 —" page numbers from a PAGE field.

python-docx's ``font.name`` only sets the Latin font slots; Chinese text is drawn with the
``w:eastAsia`` slot, so every run and style sets that explicitly (``_set_fonts``).
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from hotline.briefing import narrative
from hotline.briefing.data import BriefingData
from hotline.briefing.narrative import Annex, Chart, Heading, Paragraph, Table
from hotline.lib.text import scrub

TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"

SIZE_2 = Pt(22)  # 二号
SIZE_3 = Pt(16)  # 三号
SIZE_4 = Pt(14)  # 四号
LINE_PITCH = Pt(29)
INDENT_2_CHARS = Pt(32)  # two 三号 characters
RED = RGBColor(0xE6, 0x00, 0x12)
TEXT_WIDTH = Cm(21.0 - 2.8 - 2.6)
# 0.7 cm rows fit a 24-unit annex (the seed's 市直单位) with its label, title, note and the
# printing line on one page.
ROW_HEIGHT = Cm(0.68)
CELL_LINE = Pt(18)  # exact, so a 四号 row does not grow to the CJK font's 1.45 em line box
HEAD_ROWS = 2  # the header and the first row stay with the table's title

_PPR_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
    "w:rPr", "w:sectPr", "w:pPrChange",
)
_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}


def render_docx(data: BriefingData) -> bytes:
    doc = Document()
    _setup_document(doc, data)
    _masthead(doc, data)
    previous = None
    for block in narrative.compose(data):
        if isinstance(block, Heading):
            p = _para(doc, indent=True)
            p.paragraph_format.keep_with_next = True
            if isinstance(previous, Table | Chart):
                p.paragraph_format.space_before = Pt(10)
            _run(p, block.text, HEADING_FONT, SIZE_3)
        elif isinstance(block, Paragraph):
            _paragraph(doc, block)
        elif isinstance(block, Table):
            _table(doc, block)
        elif isinstance(block, Chart):
            _chart(doc, data.charts[block.key])
        elif isinstance(block, Annex):
            _annex(doc, block)
        previous = block
    _printing_line(doc, data)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- document frame


def _setup_document(doc, data: BriefingData) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.footer_distance = Cm(2.2)

    normal = doc.styles["Normal"]
    normal.font.size = SIZE_3
    _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    pf = normal.paragraph_format
    pf.space_before = pf.space_after = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE_PITCH
    pf.widow_control = False

    props = doc.core_properties
    props.title = scrub(f"{data.hotline_name}{data.title}")
    props.author = scrub(data.issuer)
    props.subject = f"{data.year}年{data.month}月工作简报"
    props.language = "zh-CN"
    props.comments = ""
    props.last_modified_by = scrub(data.issuer)

    _page_number_footer(section)


def _page_number_footer(section) -> None:
    footer = section.footer
    p = footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.first_line_indent = Pt(0)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    _run(p, "— ", PAGE_NUMBER_FONT, SIZE_4, latin=PAGE_NUMBER_FONT)
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None), ("text", "1"), ("end", None)):
        run = _run(p, "" if kind != "text" else text, PAGE_NUMBER_FONT, SIZE_4, latin=PAGE_NUMBER_FONT)
        if kind in ("begin", "separate", "end"):
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
    _run(p, " —", PAGE_NUMBER_FONT, SIZE_4, latin=PAGE_NUMBER_FONT)


def _masthead(doc, data: BriefingData) -> None:
    p = _para(doc)
    p.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    _run(p, f"{data.issuer}\t{narrative.chinese_date(data.issue_date)}", BODY_FONT, SIZE_3)

    for i, line in enumerate((data.hotline_name, data.title)):
        p = _para(doc, align=WD_ALIGN_PARAGRAPH.CENTER)
        p.paragraph_format.line_spacing = Pt(40)
        if i == 0:
            p.paragraph_format.space_before = Pt(24)
        else:
            p.paragraph_format.space_after = Pt(10)
            _border(p, "bottom", color="E60012", size=18, space=8)
        _run(p, line, TITLE_FONT, SIZE_2, color=RED, latin=TITLE_FONT)
    # One blank line between the red rule and the text, as under a 公文 版头.
    _para(doc)


def _printing_line(doc, data: BriefingData) -> None:
    p = _para(doc)
    p.paragraph_format.space_before = Pt(20)
    p.paragraph_format.line_spacing = Pt(24)
    p.paragraph_format.left_indent = Pt(14)
    p.paragraph_format.right_indent = Pt(14)
    p.paragraph_format.keep_together = True
    p.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH - Pt(28), WD_TAB_ALIGNMENT.RIGHT)
    _border(p, "top", size=8, space=2)
    _border(p, "bottom", size=8, space=2)
    _run(p, f"{data.issuer}\t{narrative.chinese_date(data.issue_date)}印", BODY_FONT, SIZE_4)


# ---------------------------------------------------------------- blocks


def _paragraph(doc, block: Paragraph) -> None:
    if block.kind == "annex_list":
        p = _para(doc)
        if block.text.startswith("附件："):
            p.paragraph_format.first_line_indent = INDENT_2_CHARS
            p.paragraph_format.space_before = LINE_PITCH
        else:
            # Continuation lines line up under the number after "附件：".
            p.paragraph_format.left_indent = INDENT_2_CHARS + Pt(48)
    else:
        p = _para(doc, indent=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        if block.kind == "disclosure":
            p.paragraph_format.space_before = LINE_PITCH
    _run(p, block.text, BODY_FONT, SIZE_3)


def _table(doc, block: Table, *, cell_size=SIZE_4) -> None:
    title = _para(doc, align=WD_ALIGN_PARAGRAPH.CENTER)
    title.paragraph_format.space_before = Pt(8)
    title.paragraph_format.space_after = Pt(4)
    title.paragraph_format.keep_with_next = True
    _run(title, block.title, HEADING_FONT, SIZE_3)

    rows = [block.header, *block.rows] + ([block.total_row] if block.total_row else [])
    ncols = len(block.header)
    table = doc.add_table(rows=len(rows), cols=ncols)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = _column_widths(ncols)
    for r, values in enumerate(rows):
        row = table.rows[r]
        row.height = ROW_HEIGHT
        if r == 0:
            _repeat_header(row)
        is_header = r == 0
        is_total = block.total_row is not None and r == len(rows) - 1
        for c, value in enumerate(values):
            cell = row.cells[c]
            cell.width = widths[c]
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            p = cell.paragraphs[0]
            align = "center" if is_header else (block.align[c] if c < len(block.align) else "center")
            p.alignment = _ALIGN[align]
            pf = p.paragraph_format
            pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            pf.line_spacing = CELL_LINE
            pf.first_line_indent = Pt(0)
            # A table may break across pages (its header repeats): only its first rows stay with the
            # title and heading, and its last two together. Kept whole, 二、数据分析 with its table
            # moved to page 2 and left page 1 40% blank; and the last row keeps with nothing, so a
            # chart after the table never drags the table along.
            last = len(rows) - 1
            pf.keep_with_next = r < last and (r < HEAD_ROWS or r == last - 1)
            font = HEADING_FONT if is_header or is_total else BODY_FONT
            _run(p, value, font, cell_size, bold=is_header)
    for c, width in enumerate(widths):
        table.columns[c].width = width
    if block.note:
        p = _para(doc)
        p.paragraph_format.space_before = Pt(4)
        _run(p, block.note, BODY_FONT, SIZE_4)


def _column_widths(ncols: int) -> list:
    if ncols == 3:
        return [Cm(7.6), Cm(3.6), Cm(3.6)]
    return [Cm(14.8 / ncols)] * ncols


def _chart(doc, png: bytes) -> None:
    p = _para(doc, align=WD_ALIGN_PARAGRAPH.CENTER)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    p.paragraph_format.space_before = Pt(6)
    p.add_run().add_picture(io.BytesIO(png), width=Cm(14))


def _annex(doc, block: Annex) -> None:
    label = _para(doc)
    label.paragraph_format.page_break_before = True
    label.paragraph_format.keep_with_next = True
    _run(label, block.label, HEADING_FONT, SIZE_3)
    _table(doc, block.table)


# ---------------------------------------------------------------- primitives


def _para(doc, *, indent: bool = False, align=None):
    p = doc.add_paragraph()
    pf = p.paragraph_format
    pf.first_line_indent = INDENT_2_CHARS if indent else Pt(0)
    if align is not None:
        p.alignment = align
    return p


def _run(p, text: str, east_asia: str, size, *, bold: bool = False, color=None, latin: str = LATIN_FONT):
    run = p.add_run(scrub(text))  # python-docx refuses control characters: one must not stop a briefing
    run.font.size = size
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    _set_fonts(run._r.get_or_add_rPr(), east_asia, latin=latin)
    return run


def _set_fonts(rpr, east_asia: str, *, latin: str = LATIN_FONT) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)


def _border(p, side: str, *, color: str = "000000", size: int = 8, space: int = 1) -> None:
    """A paragraph rule; ``size`` in eighths of a point (18 = 2.25 pt)."""
    ppr = p._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        # Schema order matters to Word (not to LibreOffice): pBdr goes before shd/tabs/spacing/ind/jc.
        ppr.insert_element_before(borders, *_PPR_AFTER_PBDR)
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), str(size))
    edge.set(qn("w:space"), str(space))
    edge.set(qn("w:color"), color)
    borders.append(edge)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)
