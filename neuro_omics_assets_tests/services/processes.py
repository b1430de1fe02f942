"""Small process helpers of the server harness: free ports, waiting for a port, stopping by recorded pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

LOCALHOST = "127.0.0.1"


def free_port(*, also_free: Sequence[int] = ()) -> int:
    """A TCP port on 127.0.0.1 that is free now, with ``port + offset`` free too for each offset in
    ``also_free`` (SeaweedFS binds its gRPC ports at +10000)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((LOCALHOST, 0))
            port = probe.getsockname()[1]
        if port + max(also_free, default=0) < 65536 and all(_is_free(port + offset) for offset in also_free):
            return port
    raise RuntimeError(f"no free port with offsets {list(also_free)} free on {LOCALHOST} after 200 tries")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((LOCALHOST, port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, timeout_s: float, what: str, log: Path | None = None) -> None:
    """Return once something accepts TCP connections on 127.0.0.1:``port``; RuntimeError (with the
    tail of ``log``) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex((LOCALHOST, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {LOCALHOST}:{port} within {timeout_s:g} s{log_tail(log)}")


def wait_until(check, timeout_s: float, what: str, log: Path | None = None) -> None:
    """Poll ``check()`` until it is true; RuntimeError naming ``what`` (and the tail of ``log``) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready within {timeout_s:g} s{log_tail(log)}")


def log_tail(log: Path | None, lines: int = 20) -> str:
    """The last ``lines`` lines of ``log`` as a message suffix ('' when there is none)."""
    if log is None or not Path(log).exists():
        return ""
    return "; log " + str(log) + ":\n" + "\n".join(Path(log).read_text(errors="replace").splitlines()[-lines:])


def run(args: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``args``, raising with its stderr when it fails."""
    done = subprocess.run(list(args), capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` (None when absent or empty)."""
    try:
        text = Path(pid_file).read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text else None


def children(pid: int | None) -> list[int]:
    """The pids of ``pid``'s child processes (from /proc; none when ``pid`` is None or gone)."""
    if pid is None:
        return []
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:  # the process ended while we looked
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def stop_pid(pid: int | None, grace_s: float = 5.0) -> None:
    """SIGTERM ``pid``, wait up to ``grace_s``, then SIGKILL; a pid already gone is fine."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
