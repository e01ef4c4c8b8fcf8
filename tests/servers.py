"""Real servers for the tests: redis-server and docker-registry on free loopback ports."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], *, timeout: float = 20.0, what: str = "") -> object:
    """Poll until `predicate` returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # keep polling; report the last failure
            last_exc = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}: {last_exc!r}")


def registry_binary() -> str:
    for name in ("docker-registry", "registry"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("docker-registry is not installed (apt-get install docker-registry)")


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, what="redis-server")

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class RegistryProcess:
    """A docker-registry serving `config_text` on 127.0.0.1:`port`; stop and start keep data."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.config_file = workdir / "config.yml"
        #: The debug listener (`/debug/vars`), when the config enables one on this port.
        self.debug_port: int | None = None
        self.log_file = workdir / "registry.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def write_config(self, text: str) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(text)

    def start(self) -> None:
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [registry_binary(), "serve", str(self.config_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, what=f"docker-registry on {self.port} (see {self.log_file})")

    def _answers(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"docker-registry exited; see {self.log_file}")
        return requests.get(f"{self.url}/v2/", timeout=1).status_code == 401

    def pending_notifications(self) -> int | None:
        """Events the registry still holds for delivery (None when it cannot tell)."""
        if self.debug_port is None or not self.running:
            return None
        try:
            metrics = requests.get(
                f"http://127.0.0.1:{self.debug_port}/debug/vars", timeout=1
            ).json()["registry"]["notifications"]["endpoints"]
            return sum(int(endpoint["Metrics"]["Pending"]) for endpoint in metrics)
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
