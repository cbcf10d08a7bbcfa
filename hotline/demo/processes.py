"""The web server, the task worker and the scheduler as one group of child processes.

``hotline serve`` and ``hotline demo`` run everything a person needs with one command: without a
worker a briefing build or a receipt stays "排队中" for ever. The parent only supervises; each part
runs as its own ``python -m hotline …`` child, so a part behaves exactly as it does when systemd
runs it as a separate service in production (``deploy/systemd/``).

The group stops together: SIGINT (Ctrl-C), SIGTERM or SIGHUP of the parent sends SIGTERM to every
child and waits for it; a child that exits on its own stops the others and the parent exits with
status 1 and says which one. It is not restarted: a worker that crashes at start (a missing
migration, a bad setting) would otherwise restart in a loop and hide the error behind the web
server's output. On Linux each child also gets SIGTERM from the kernel when the parent dies
without cleaning up (SIGKILL), so no part is left running on its own.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def hotline_command(*args: str) -> list[str]:
    """``python -m hotline …`` with this interpreter, so the children run the same code."""
    return [sys.executable, "-m", "hotline", *args]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. PR_SET_PDEATHSIG (1): the kernel sends SIGTERM
    # when the parent goes away, even by SIGKILL, when it had no chance to stop its children.
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's own handlers are all there is
        pass


class ProcessGroup:
    """Start named commands; return when one exits or the parent is told to stop; stop all."""

    def __init__(self, commands: dict[str, list[str]], *, write=print, grace: float = 20.0):
        self.commands = commands
        self.write = write
        self.grace = grace  # a worker finishes its running task on SIGTERM; longer ones are requeued
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_signal: int | None = None

    def _on_signal(self, signum, frame):
        if self.stop_signal is not None:  # a second Ctrl-C: do not wait for the running task
            for child in self.children.values():
                if child.poll() is None:
                    child.kill()
        self.stop_signal = signum

    def run(self) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        try:
            for name, command in self.commands.items():
                # Own process group: Ctrl-C reaches only the parent, which stops the children in
                # order instead of each of them dying on its own and being reported as a crash.
                self.children[name] = subprocess.Popen(command, process_group=0, preexec_fn=_die_with_parent)
                self.write(f"已启动 {name}（进程 {self.children[name].pid}）：{' '.join(command[1:])}")
            died = self._wait()
        finally:
            self._stop_all()
            for s, handler in previous.items():
                signal.signal(s, handler)
        if died is not None:
            name, code = died
            self.write(f"{name} 意外退出（退出码 {code}），已停止其余进程。请查看上面 {name} 的输出。")
            return 1
        return 0

    def _wait(self) -> tuple[str, int] | None:
        while self.stop_signal is None:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    return name, code
            time.sleep(0.2)
        return None

    def _stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + self.grace
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.write(f"{name} 未在 {self.grace:g} 秒内退出，强制结束")
                child.kill()
                child.wait()
