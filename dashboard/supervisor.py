"""A small foreground process supervisor for `manage.py run_berth`.

Each child runs in its own session, so a terminal's Ctrl-C reaches only the supervisor, which
then stops every child's whole process group (gunicorn and Celery pool workers included):
SIGTERM, a grace period, then SIGKILL. Children also get SIGTERM if the supervisor itself is
killed (Linux `PR_SET_PDEATHSIG`), so a `kill -9` leaves no registry holding its port.
Output is read without threads and copied line by line with the child's name in front.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

_PR_SET_PDEATHSIG = 1
_MAX_LINE = 64 * 1024
_COLOURS = ("36", "35", "33", "32", "34", "31", "96", "95")


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


# Resolved before any fork: the child must not import or load anything between fork and exec.
_prctl = _load_prctl()


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class ChildSpec:
    """What to run: `one_shot` children are expected to exit; any other exit is a failure."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    one_shot: bool = False


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]
    colour: str
    returncode: int | None = None
    pending: bytes = field(default=b"", repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def running(self) -> bool:
        return self.returncode is None

    def signal_group(self, signum: int) -> None:
        """Send `signum` to the child's process group (its pid: it leads its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


class Supervisor:
    """Start children, copy their output, notice exits, stop them all."""

    def __init__(self, out: TextIO | None = None, *, name_width: int = 8) -> None:
        self._out = out or sys.stdout
        self._colour = self._out.isatty() and not os.environ.get("NO_COLOR")
        self._selector = selectors.DefaultSelector()
        self._width = name_width
        self.children: list[Child] = []
        self.stop_signal: int | None = None

    # --- signals ----------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM only record the request; the run loop acts on it."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signum

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    # --- children ---------------------------------------------------------------------------

    def start(self, spec: ChildSpec) -> Child:
        """Start `spec` with stdout and stderr merged into one pipe the supervisor reads."""
        process = subprocess.Popen(
            list(spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(spec.env) if spec.env is not None else None,
            cwd=spec.cwd,
            start_new_session=True,
            # Safe with no other threads: the hook makes one prctl call and loads nothing.
            preexec_fn=_die_with_parent,
        )
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        colour = _COLOURS[len(self.children) % len(_COLOURS)]
        child = Child(spec=spec, process=process, colour=colour)
        self._selector.register(process.stdout, selectors.EVENT_READ, child)
        self.children.append(child)
        return child

    def pump(self, timeout: float) -> list[Child]:
        """Copy whatever output arrives within `timeout` seconds; return children that exited
        since the last call (their remaining output copied first)."""
        if self._selector.get_map():
            for key, _ in self._selector.select(timeout):
                self._read(key.data)
        elif timeout > 0:
            time.sleep(timeout)
        exited: list[Child] = []
        for child in self.children:
            if child.running and child.process.poll() is not None:
                self._drain(child)
                child.returncode = child.process.returncode
                exited.append(child)
        return exited

    def stop_all(self, *, grace: float = 15.0) -> None:
        """SIGTERM every running child's group (last started first), wait up to `grace`
        seconds, then SIGKILL the groups of all children, stragglers included."""
        running = [c for c in reversed(self.children) if c.running]
        if running:
            self.say(f"stopping {', '.join(c.name for c in running)}")
        for child in running:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(c.running for c in self.children) and time.monotonic() < deadline:
            self.pump(0.2)
        for child in self.children:
            child.signal_group(signal.SIGKILL)
            if child.running:
                self.say(f"{child.name} did not stop within {grace:.0f}s; killed it")
                child.process.wait(5)
                child.returncode = child.process.returncode
            self._drain(child)
        self._selector.close()

    # --- output -----------------------------------------------------------------------------

    def say(self, text: str, *, name: str = "berth", colour: str = "1") -> None:
        """Write one line with a name column, as the children's lines are written."""
        label = f"{name:<{self._width}}"
        if self._colour:
            label = f"\033[{colour}m{label}\033[0m"
        self._out.write(f"{label} | {text}\n")
        self._out.flush()

    def write(self, text: str) -> None:
        """Write text as it is (the banner)."""
        self._out.write(text)
        self._out.flush()

    def _read(self, child: Child) -> None:
        stream = child.process.stdout
        assert stream is not None
        try:
            data = os.read(stream.fileno(), 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(child)
            return
        child.pending += data
        *lines, child.pending = child.pending.split(b"\n")
        if len(child.pending) > _MAX_LINE:
            lines.append(child.pending)
            child.pending = b""
        for line in lines:
            text = line.decode(errors="replace").rstrip("\r")
            self.say(text, name=child.name, colour=child.colour)

    def _drain(self, child: Child) -> None:
        """Copy what is left in an exited child's pipe, without waiting for grandchildren
        that may still hold it open."""
        stream = child.process.stdout
        for _ in range(256):
            if stream is None or stream.closed or not _readable(stream.fileno()):
                break
            self._read(child)
        if child.pending:
            self.say(child.pending.decode(errors="replace"), name=child.name, colour=child.colour)
            child.pending = b""

    def _close(self, child: Child) -> None:
        stream = child.process.stdout
        if stream is None or stream.closed:
            return
        if child.pending:
            self.say(child.pending.decode(errors="replace"), name=child.name, colour=child.colour)
            child.pending = b""
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(stream)
        stream.close()


def _readable(fd: int) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        return bool(selector.select(0))


def wait_until(
    supervisor: Supervisor,
    ready: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.25,
) -> tuple[bool, list[Child]]:
    """Pump output until `ready()` is true. Returns (ready, children that exited meanwhile);
    gives up early when a stop is requested or a child that should keep running exits."""
    deadline = time.monotonic() + timeout
    exited: list[Child] = []
    while time.monotonic() < deadline and not supervisor.stopping:
        next_check = time.monotonic() + interval
        while not supervisor.stopping and (remaining := next_check - time.monotonic()) > 0:
            exited += supervisor.pump(remaining)
        if any(not c.spec.one_shot for c in exited):
            return False, exited
        if ready():
            return True, exited
    return False, exited


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (SO_REUSEADDR, as servers bind, so sockets
    in TIME_WAIT from a previous run do not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
