"""The several-machine deployment, on this machine: deploy/cluster_test.py under pytest.

Slow (20–40 s) and needs PostgreSQL server binaries, nginx and gunicorn; skipped when they are
missing or its ports are taken. Run alone with ``pytest -m slow tests/test_cluster.py -s`` to see
the summary.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

import cluster_test  # noqa: E402


@pytest.mark.slow
def test_cluster_survives_a_killed_app_process_and_worker():
    missing = cluster_test.missing_tools()
    if missing:
        pytest.skip("缺少：" + "，".join(missing))
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "cluster_test.py")], cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    print(result.stdout[-6000:], result.stderr[-3000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "失败]" not in result.stdout
