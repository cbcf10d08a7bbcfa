"""The file boundary: what an uploaded file must be before the platform keeps it (pure, no Django).

``inspect`` takes the bytes a person sent and either returns a ``CleanFile`` — the bytes to store,
their type as read from the content (never from the name or the browser's word), a thumbnail for
images — or raises ``FileRejected`` with a Chinese message saying why. Nothing is written here:
the caller stores only what came back, so a refused file leaves nothing behind.

- Only a few kinds are kept, each recognised by its content: JPEG, PNG and WebP photos; PDF;
  Word/Excel/PowerPoint (OOXML, without macros). Everything else is refused: SVG (it carries
  script), HTML, executables (PE ``MZ``, ELF, Mach-O, scripts with ``#!``), archives, and a
  file whose name promises a photo but whose content is something else.
- Images are opened with Pillow, their declared size checked *before* a pixel is decoded (an image
  bomb: a tiny PNG that declares 100000×100000), verified, then decoded and encoded again: what is
  kept is a new file holding only the pixels — EXIF (GPS, camera, owner), comments and text chunks
  are gone, and so is anything hidden after or inside the image. A file with bytes after the
  image's own end (a JPEG with a ZIP or HTML appended: a polyglot) is refused outright, since no
  camera writes that.
- PDFs must end with ``%%EOF`` (nothing appended) and carry no active content (JavaScript, launch
  actions, embedded files); OOXML archives must be real Office documents of bounded uncompressed
  size (no zip bomb) without a VBA project.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass


class FileRejected(ValueError):
    """The file is refused; ``str(exc)`` is the message shown to the person who sent it."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 60_000_000  # a 50-megapixel phone photo passes; a decompression bomb does not
    max_side: int = 12_000
    thumb_side: int = 320
    max_unzipped: int = 100 * 1024 * 1024  # an Office document's parts, all together, uncompressed


@dataclass(frozen=True)
class CleanFile:
    """A file that passed ``inspect``: what to store, and what the platform records about it."""

    name: str  # the sender's file name, cleaned, for display and download only (never a path)
    content_type: str
    extension: str
    data: bytes
    sha256: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None  # JPEG, at most thumb_side on its longer side; images only

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
OOXML_TYPES = {
    "word/document.xml": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/workbook.xml": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/presentation.xml": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
ALLOWED_LABEL = "JPG、PNG、WebP 图片，PDF，Word、Excel、PowerPoint 文档"
PHOTO_LABEL = "JPG、PNG、WebP 图片"

UNSUPPORTED = f"不支持该文件类型，只能上传{ALLOWED_LABEL}"
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|OpenAction\s*<<[^>]*/S\s*/JavaScript)\b")
_NAME_CLEAN = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_name(name: str, extension: str) -> str:
    """The sender's file name as shown and offered on download: no path, no control characters, at
    most 80 characters, ending in the extension its content has (a ``.exe`` renamed ``.jpg`` never
    comes back as either)."""
    base = _NAME_CLEAN.sub("_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._") or "附件"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem[:70] or '附件'}.{extension}"


def _kind(head: bytes) -> str:
    """What the content says the file is, from its first bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP"
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF") or head[:4] in (
            b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return "EXECUTABLE"
    if head.startswith(b"#!"):
        return "SCRIPT"
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in head.lower():
        return "SVG"
    if text.startswith((b"<", b"<!doctype")):
        return "MARKUP"
    return "UNKNOWN"


REFUSALS = {
    "EXECUTABLE": "不能上传可执行程序（文件内容是程序，与文件名无关）",
    "SCRIPT": "不能上传脚本文件",
    "SVG": "不能上传 SVG 图片（其中可以夹带脚本），请转换为 JPG 或 PNG 后上传",
    "MARKUP": "不能上传网页或 XML 文件",
}


def inspect(data: bytes, name: str = "", *, limits: Limits = Limits(), images_only: bool = False) -> CleanFile:
    """Check ``data`` (sent as ``name``) and return what may be stored; ``FileRejected`` otherwise."""
    shown = _NAME_CLEAN.sub("_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()[:60]
    label = f"“{shown}”" if shown else "文件"
    if not data:
        raise FileRejected(f"{label}是空文件")
    if len(data) > limits.max_bytes:
        raise FileRejected(f"{label}超过 {limits.max_bytes // (1024 * 1024)} MB，请压缩后再上传")
    kind = _kind(data[:4096])
    if kind in REFUSALS:
        raise FileRejected(f"{label}：{REFUSALS[kind]}")
    if kind in IMAGE_TYPES:
        return _image(data, name, kind, label, limits)
    if images_only:
        raise FileRejected(f"{label}：只能上传{PHOTO_LABEL}")
    if kind == "PDF":
        return _pdf(data, name, label)
    if kind == "ZIP":
        return _ooxml(data, name, label, limits)
    raise FileRejected(f"{label}：{UNSUPPORTED}")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _jpeg_end(data: bytes) -> int | None:
    """Where a JPEG's EOI marker ends, found by walking its segments and scans (an EXIF thumbnail
    carries an EOI of its own inside APP1, so a plain search would stop there)."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xD9:
            return i + 2
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        i += 2 + length
        if marker == 0xDA:  # entropy-coded data: runs to the next marker that is not FF00 or a restart
            while i + 1 < n and not (data[i] == 0xFF and data[i + 1] not in (0x00, *range(0xD0, 0xD8))):
                i += 1
    return None


def _png_end(data: bytes) -> int | None:
    i, n = 8, len(data)
    while i + 12 <= n:
        length = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        i += 12 + length
        if kind == b"IEND":
            return i
    return None


def _image_end(data: bytes, kind: str) -> int | None:
    if kind == "JPEG":
        return _jpeg_end(data)
    if kind == "PNG":
        return _png_end(data)
    declared = int.from_bytes(data[4:8], "little") + 8  # WebP: the RIFF header says how long it is
    return declared + (declared % 2)


# What a second file hidden after an image starts with (a polyglot): archives, programs, documents,
# markup. Phones write trailers of their own after a JPEG — Samsung's SEFT block, the MP4 of a
# "motion photo", a second JPEG (MPO, an Ultra HDR gain map) — which carry none of these at their
# start; they are dropped by the re-encoding like all metadata.
_SMUGGLED = (b"PK\x03\x04", b"PK\x05\x06", b"%PDF", b"MZ", b"\x7fELF", b"Rar!", b"7z\xbc\xaf", b"#!")
_MARKUP = (b"<script", b"<html", b"<?php", b"<svg", b"<iframe", b"<body", b"<!doctype", b"<?xml")
_ZIP_TAIL = 65536 + 22  # a ZIP's end record lies within this much of the end: where unzip looks for it


def _smuggles(data: bytes, kind: str) -> bool:
    """Whether another file or markup follows the image's own end."""
    end = _image_end(data, kind)
    for _ in range(8):  # further JPEGs a phone appended (MPO, gain maps): walk past each
        if kind != "JPEG" or end is None or data[end:end + 3] != b"\xff\xd8\xff":
            break
        more = _jpeg_end(data[end:])
        if more is None:
            break
        end += more
    if end is None or end >= len(data):
        return False
    trailer = data[end:].lstrip(b"\x00\r\n\t ")
    if not trailer:
        return False
    head = trailer[:1024].lower()
    if trailer.startswith(_SMUGGLED) or any(tag in head for tag in _MARKUP):
        return True
    # A ZIP appended after other bytes still opens, since unzip reads it from its end record.
    return b"PK\x05\x06" in data[-_ZIP_TAIL:] and b"PK\x03\x04" in trailer


def _image(data: bytes, name: str, kind: str, label: str, limits: Limits) -> CleanFile:
    from PIL import Image, ImageOps

    if _smuggles(data, kind):
        raise FileRejected(f"{label}：图片数据之后夹带了其他内容（可能是伪装的压缩包或网页），已拒绝")
    try:
        # Pillow refuses a header past twice Image.MAX_IMAGE_PIXELS by itself (DecompressionBombError);
        # the cap here is lower and says so in Chinese. Both are checked before a pixel is decoded.
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if probe.format != kind and not (kind == "JPEG" and probe.format == "MPO"):
                raise FileRejected(f"{label}：图片格式与内容不符")
            if width * height > limits.max_pixels or max(width, height) > limits.max_side:
                raise FileRejected(_too_large(label, f"{width}×{height}", limits))
            probe.verify()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = ImageOps.exif_transpose(im)  # keep the photo upright once its EXIF is gone
            clean = _encode(im, kind)
            thumb = _thumbnail(im, limits.thumb_side)
    except FileRejected:
        raise
    except Image.DecompressionBombError:
        raise FileRejected(_too_large(label, "", limits)) from None
    except Exception:  # Pillow raises many kinds for a damaged file; each means the same to the sender
        raise FileRejected(f"{label}：图片已损坏或不是有效的图片") from None
    content_type, extension = IMAGE_TYPES[kind]
    return CleanFile(clean_name(name, extension), content_type, extension, clean, _digest(clean),
                     width, height, thumb)


def _too_large(label: str, size: str, limits: Limits) -> str:
    return (f"{label}：图片尺寸{f' {size} ' if size else ''}过大（最多 {limits.max_side} 像素边长、"
            f"{limits.max_pixels // 1_000_000} 百万像素），可能是“图片炸弹”，已拒绝")


def _encode(im, kind: str) -> bytes:
    """The pixels alone, in the same format: no EXIF, ICC, comments or text chunks are passed on."""
    out = io.BytesIO()
    if kind == "JPEG":
        if im.mode not in ("L", "RGB", "CMYK"):
            im = im.convert("RGB")
        im.save(out, "JPEG", quality=88, optimize=True)
    elif kind == "PNG":
        if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            im = im.convert("RGBA")
        im.save(out, "PNG", optimize=True)
    else:
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode or im.mode == "P" else "RGB")
        im.save(out, "WEBP", quality=85)
    return out.getvalue()


def _thumbnail(im, side: int) -> bytes:
    from PIL import Image

    thumb = im.copy()
    thumb.thumbnail((side, side))
    if thumb.mode in ("RGBA", "LA", "P", "PA"):
        thumb = thumb.convert("RGBA")
        background = Image.new("RGB", thumb.size, "white")
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def _pdf(data: bytes, name: str, label: str) -> CleanFile:
    if not data.rstrip(b"\x00\r\n\t ").endswith(b"%%EOF"):
        raise FileRejected(f"{label}：PDF 文件不完整或在结尾夹带了其他内容，已拒绝")
    if _PDF_ACTIVE.search(data):
        raise FileRejected(f"{label}：PDF 中含有脚本、自动动作或嵌入文件，已拒绝；请另存为普通 PDF 后上传")
    return CleanFile(clean_name(name, "pdf"), "application/pdf", "pdf", data, _digest(data))


def _ooxml(data: bytes, name: str, label: str, limits: Limits) -> CleanFile:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            unzipped = sum(i.file_size for i in infos)
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileRejected(f"{label}：文档已损坏") from None
    if "[Content_Types].xml" not in names:
        raise FileRejected(f"{label}：不能上传压缩包；{UNSUPPORTED}")
    if len(infos) > 5000 or unzipped > limits.max_unzipped:
        raise FileRejected(f"{label}：文档解压后过大，已拒绝")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FileRejected(f"{label}：文档含有宏，已拒绝；请另存为不含宏的文档后上传")
    for part, (content_type, extension) in OOXML_TYPES.items():
        if part in names:
            return CleanFile(clean_name(name, extension), content_type, extension, data, _digest(data))
    raise FileRejected(f"{label}：{UNSUPPORTED}")


def check_count(count: int, already: int, *, per_upload: int, per_order: int) -> None:
    """Refuse an upload of ``count`` files to an order that holds ``already``."""
    if count > per_upload:
        raise FileRejected(f"一次最多上传 {per_upload} 个附件，您选择了 {count} 个")
    if already + count > per_order:
        raise FileRejected(f"每件工单最多 {per_order} 个附件，该工单已有 {already} 个，还能上传 {max(per_order - already, 0)} 个")
