"""A model trained from a CSV file, kept in a file (pure, no Django).

``hotline triage train --csv … -o MODEL`` writes ``MODEL``; training again into the same path makes
the next version. A new model whose held-out accuracy is lower than the one in ``MODEL`` is not
activated: it is written beside it as ``MODEL.vN.rejected`` and ``MODEL`` is left alone (``--force``
replaces it anyway). Writing goes through a temporary file and a rename, so a reader never sees half
a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hotline.triage import engine


@dataclass
class Saved:
    path: Path
    version: int
    activated: bool
    reason: str | None  # why it was not activated
    previous: int | None  # the version it replaced (or did not)


def load(path: str | Path) -> engine.Model:
    return _load(Path(path), advice="--model 应是 hotline triage train --csv … -o 保存的模型文件")


def _load(path: Path, *, advice: str) -> engine.Model:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise engine.TriageError(f"找不到模型文件 {path}：先用 hotline triage train --csv … -o {path} 训练") from None
    except IsADirectoryError:
        raise engine.TriageError(f"{path} 是一个目录，不是模型文件") from None
    try:
        return engine.loads(data)
    except engine.TriageError as exc:  # another file given as the model (the CSV itself), a truncated one
        raise engine.TriageError(f"{path} 不是可用的模型文件（{exc}）：{advice}") from exc


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save(model: engine.Model, path: str | Path, *, force: bool = False) -> Saved:
    """Store ``model`` as the next version in ``path`` unless it evaluates worse than the one there."""
    path = Path(path)
    current = None
    if path.exists():
        current = _load(path, advice="它已存在，请换一个文件名，或先删除它")
    previous = current.metadata.get("version", 1) if current else None
    version = (previous or 0) + 1
    model.metadata["version"] = version
    reason = None if current is None else engine.worse(model.metadata.get("scores") or {},
                                                       current.metadata.get("scores") or {})
    if reason and not force:
        rejected = path.with_name(f"{path.name}.v{version}.rejected")
        _write(rejected, engine.dumps(model))
        return Saved(rejected, version, False, reason, previous)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, engine.dumps(model))
    return Saved(path, version, True, reason, previous)
