"""``hotline backup`` / ``hotline restore``: the whole database to one file and back.

SQLite (the embedded default): SQLite's online backup API (``sqlite3.Connection.backup``), which
copies a consistent snapshot while the application keeps running, into a temporary file renamed
into place when complete. Restoring copies the file back over the live database the same way.

PostgreSQL: ``pg_dump -Fc`` (custom format, compressed) with the connection of the settings;
restore is ``pg_restore --clean --if-exists --single-transaction``, so a failed restore leaves the
database as it was. The tools must be on PATH (Debian: ``postgresql-client``) and should be the
server's major version or newer.

A restore refuses to overwrite a database that holds data unless forced, and refuses a file that
is not a backup of this platform — in both cases before touching anything.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connections, transaction

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Tables ``migrate`` fills by itself: a database holding only these counts as empty.
BOOKKEEPING_TABLES = {"django_migrations", "django_content_type", "auth_permission", "django_session",
                      "sqlite_sequence"}


class BackupError(Exception):
    """A refused or failed backup/restore, with a Chinese message for the person running it."""


def _conn(using: str):
    connection = connections[using]
    if connection.in_atomic_block:
        raise BackupError("不能在事务中备份或恢复数据库")
    return connection


def _cache_tables() -> set[str]:
    """Tables behind database caches (the shared cache without Redis): disposable rows that `flush`
    leaves alone and that never make a database worth protecting from a restore."""
    return {c["LOCATION"] for c in settings.CACHES.values()
            if c["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"}


def tables_with_data(using: str = "default") -> list[str]:
    """Tables of the database that hold rows, migrate's own bookkeeping and caches excepted."""
    connection = connections[using]
    found = []
    with connection.cursor() as cursor:
        for table in sorted(set(connection.introspection.table_names(cursor)) - BOOKKEEPING_TABLES
                            - _cache_tables()):
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            if cursor.fetchone():
                found.append(table)
    return found


def _part(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def backup(output: str | Path, using: str = "default") -> Path:
    """Write a backup of database ``using`` to ``output``; returns the path. Never leaves half a file."""
    connection = _conn(using)
    output = Path(output)
    if not output.parent.is_dir():
        raise BackupError(f"目录不存在：{output.parent}")
    tmp = _part(output)
    try:
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(tmp)
            try:
                with target:
                    connection.connection.backup(target)
            finally:
                target.close()
        elif connection.vendor == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(tmp)], connection)
        else:
            raise BackupError(f"不支持备份 {connection.vendor} 数据库")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return output


def check_backup_file(path: str | Path, vendor: str) -> None:
    """Refuse a file that is not a backup of this platform for this kind of database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    with path.open("rb") as f:
        head = f.read(16)
    if vendor == "sqlite":
        if head != SQLITE_MAGIC:
            kind = "PostgreSQL 备份（请在 PostgreSQL 上恢复）" if head.startswith(PGDUMP_MAGIC) else "SQLite 数据库文件"
            raise BackupError(f"{path.name} 不是{kind}")
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{path.name} 已损坏（完整性检查未通过）")
            if not source.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='django_migrations'"
                                  ).fetchone():
                raise BackupError(f"{path.name} 不是本平台的数据库备份（没有迁移记录）")
        except sqlite3.DatabaseError as e:
            raise BackupError(f"{path.name} 无法读取：{e}") from None
        finally:
            source.close()
    else:
        if not head.startswith(PGDUMP_MAGIC):
            kind = "SQLite 备份（请在 SQLite 上恢复）" if head == SQLITE_MAGIC else "pg_dump -Fc 备份文件"
            raise BackupError(f"{path.name} 不是{kind}")
        listing = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True)
        if listing.returncode != 0:
            raise BackupError(f"{path.name} 无法读取：{listing.stderr.strip()[:300]}")
        if "django_migrations" not in listing.stdout:
            raise BackupError(f"{path.name} 不是本平台的数据库备份（没有迁移记录）")


def restore(path: str | Path, *, force: bool = False, using: str = "default") -> None:
    """Replace the contents of database ``using`` with the backup at ``path``."""
    connection = _conn(using)
    check_backup_file(path, connection.vendor)
    if not force:
        busy = tables_with_data(using)
        if busy:
            shown = "、".join(busy[:5]) + ("等" if len(busy) > 5 else "")
            raise BackupError(f"当前数据库不是空的（{shown} 表中有数据），恢复会覆盖全部现有数据；"
                              f"确认要覆盖请加 --force")
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            # One step (pages=-1): the live database switches from the old content to the new at once.
            source.backup(connection.connection)
        except sqlite3.Error as e:
            raise BackupError(f"恢复失败，数据库未改变：{e}") from None
        finally:
            source.close()
        connection.close()
    elif connection.vendor == "postgresql":
        connection.close()  # our own session must not hold locks on the tables being replaced
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", "--dbname", connection.settings_dict["NAME"], str(path)], connection)
    else:
        raise BackupError(f"不支持恢复 {connection.vendor} 数据库")
    with transaction.atomic(using=using):
        pass  # reconnects, so a broken restore shows here rather than in the next request
    # Cached counts and pages describe the database before the restore (the dump may even carry
    # the cache table of its own day): none of them may be served afterwards.
    for cache in caches.all():
        cache.clear()


def _run(argv: list[str], connection) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"找不到 {argv[0]}：请安装 PostgreSQL 客户端工具（Debian：postgresql-client）")
    s = connection.settings_dict
    env = dict(os.environ)
    for var, value in (("PGHOST", s.get("HOST")), ("PGPORT", s.get("PORT")), ("PGUSER", s.get("USER")),
                       ("PGPASSWORD", s.get("PASSWORD")), ("PGDATABASE", s.get("NAME")),
                       ("PGSSLMODE", (s.get("OPTIONS") or {}).get("sslmode"))):
        if value:
            env[var] = str(value)
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} 失败（退出码 {done.returncode}）：{done.stderr.strip()[:500]}")
