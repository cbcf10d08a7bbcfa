"""Ask a running clamd whether a file carries a known virus (its INSTREAM command; pure sockets).

Optional: used only when ``HOTLINE_ATTACHMENTS["CLAMD"]`` names clamd's unix socket (a path) or
``host:port``. The protocol (clamd(8)): send ``zINSTREAM\\0``, then the file in chunks each
prefixed with its length as a 4-byte big-endian integer, then a zero length; clamd answers
``stream: OK`` or ``stream: <signature> FOUND`` (or ``… ERROR``), NUL-terminated.
"""

from __future__ import annotations

import socket

CHUNK = 64 * 1024


class ScanUnavailable(RuntimeError):
    """clamd could not be asked (down, refused, size limit): the upload is refused, not let through."""


def scan(data: bytes, address: str, *, timeout: float = 30.0) -> str | None:
    """The signature clamd found in ``data``, or None when it found nothing."""
    try:
        if address.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(address)
        else:
            host, _, port = address.rpartition(":")
            sock = socket.create_connection((host or "127.0.0.1", int(port or 3310)), timeout=timeout)
    except (OSError, ValueError) as exc:
        raise ScanUnavailable(f"无法连接病毒扫描服务：{exc}") from exc
    with sock:
        try:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                chunk = data[start:start + CHUNK]
                sock.sendall(len(chunk).to_bytes(4, "big") + chunk)
            sock.sendall(b"\0\0\0\0")
            reply = b""
            while not reply.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
        except OSError as exc:
            raise ScanUnavailable(f"病毒扫描服务无应答：{exc}") from exc
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if answer.endswith("OK"):
        return None
    if answer.endswith("FOUND"):
        return answer.removeprefix("stream:").removesuffix("FOUND").strip() or "unknown"
    raise ScanUnavailable(f"病毒扫描服务返回错误：{answer[:200]}")
