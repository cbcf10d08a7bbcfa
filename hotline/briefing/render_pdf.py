"""DOCX → PDF (and PDF → PNG pages) through LibreOffice headless and poppler.

LibreOffice is an optional system dependency: a site without it still gets DOCX and HTML, and
asking for a PDF raises ``PdfUnavailable`` with the command that installs it. Each conversion runs
in its own temporary directory with its own LibreOffice profile (``-env:UserInstallation``), so
concurrent conversions from several workers do not fight over one profile lock.

The 公文 fonts (仿宋_GB2312, 黑体, 方正小标宋简体) are rarely installed on Linux servers; a private
fontconfig file maps them to the usual Windows fonts when present and to Noto CJK otherwise, so
a server PDF keeps serif body text and a sans heading face instead of one fallback for all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = "apt-get install libreoffice-writer fonts-noto-cjk"
PNG_INSTALL_HINT = "apt-get install poppler-utils"
TIMEOUT_SECONDS = 180

# family asked for by the DOCX -> families to try, best first
_FONT_ALIASES = {
    "仿宋_GB2312": ["FangSong_GB2312", "FangSong", "仿宋", "Noto Serif CJK SC"],
    "仿宋": ["FangSong", "Noto Serif CJK SC"],
    "黑体": ["SimHei", "Noto Sans CJK SC"],
    "方正小标宋简体": ["FZXiaoBiaoSong-B05S", "Noto Serif CJK SC"],
    "楷体_GB2312": ["KaiTi_GB2312", "KaiTi", "Noto Serif CJK SC"],
    "宋体": ["SimSun", "Noto Serif CJK SC"],
    # Digits and Latin letters: without Times the fallback is DejaVu, far wider than the CJK text.
    "Times New Roman": ["Liberation Serif", "Noto Serif CJK SC"],
}


class PdfUnavailable(RuntimeError):
    """LibreOffice (or poppler for PNGs) is not installed, or the conversion failed."""


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_available() -> bool:
    return _soffice() is not None


def _fontconfig_file(directory: Path) -> Path:
    aliases = "\n".join(
        "  <alias binding=\"same\"><family>{}</family><prefer>{}</prefer></alias>".format(
            name, "".join(f"<family>{f}</family>" for f in prefer)
        )
        for name, prefer in _FONT_ALIASES.items()
    )
    path = directory / "fonts.conf"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"{aliases}\n</fontconfig>\n",
        encoding="utf-8",
    )
    return path


def docx_to_pdf(docx_bytes: bytes) -> bytes:
    soffice = _soffice()
    if soffice is None:
        raise PdfUnavailable(
            "无法生成 PDF：服务器未安装 LibreOffice。请由管理员执行 "
            f"`{INSTALL_HINT}`（中文字体同时安装）后重试；DOCX 与网页预览不受影响。"
        )
    with tempfile.TemporaryDirectory(prefix="briefing-pdf-") as tmp:
        tmpdir = Path(tmp)
        source = tmpdir / "briefing.docx"
        source.write_bytes(docx_bytes)
        profile = (tmpdir / "profile").as_uri()
        env = dict(os.environ, HOME=str(tmpdir), FONTCONFIG_FILE=str(_fontconfig_file(tmpdir)))
        cmd = [
            soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
            "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(tmpdir), str(source),
        ]
        try:
            proc = subprocess.run(cmd, cwd=tmpdir, env=env, capture_output=True, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise PdfUnavailable(f"PDF 转换超时（{TIMEOUT_SECONDS} 秒），请稍后重试。") from exc
        target = tmpdir / "briefing.pdf"
        if proc.returncode != 0 or not target.exists():
            detail = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[-500:]
            raise PdfUnavailable(f"LibreOffice 转换 PDF 失败（退出码 {proc.returncode}）：{detail}")
        return target.read_bytes()


def docx_to_pngs(docx_bytes: bytes, out_dir, dpi: int = 60, prefix: str = "briefing-page") -> list[Path]:
    """Render every page to ``out_dir/<prefix>-N.png`` (N from 1); returns the paths in order.
    Used for the screenshots under docs/screenshots and for eyeballing layout changes."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise PdfUnavailable(f"无法生成页面图片：服务器未安装 poppler。请执行 `{PNG_INSTALL_HINT}`。")
    pdf = docx_to_pdf(docx_bytes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="briefing-png-") as tmp:
        src = Path(tmp) / "briefing.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            [pdftoppm, "-png", "-r", str(dpi), str(src), str(Path(tmp) / "page")],
            check=True, capture_output=True, timeout=TIMEOUT_SECONDS,
        )
        # pdftoppm zero-pads page numbers by page count (page-1.png or page-01.png).
        pages = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        for old in out.glob(f"{prefix}-*.png"):
            old.unlink()
        paths = []
        for n, page in enumerate(pages, start=1):
            dest = out / f"{prefix}-{n}.png"
            shutil.copyfile(page, dest)
            paths.append(dest)
    return paths
