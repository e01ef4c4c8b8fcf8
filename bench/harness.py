"""A real Berth for benchmarks: its own data dir, redis-server, docker-registry and web server.

Each benchmark prints its figure as a ratio against a reference measured in the same run.
Call `start()` before importing anything that touches Django models.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import RedisServer, RegistryProcess, free_port, wait_for  # noqa: E402


@dataclass
class BenchEnv:
    tmp: Path
    redis: RedisServer
    registry: RegistryProcess
    web_url: str
    server: object

    def stop(self) -> None:
        self.registry.stop()
        self.redis.stop()
        shutdown = getattr(self.server, "shutdown", None)
        if shutdown:
            shutdown()


def start(name: str) -> BenchEnv:
    """Configure Django against fresh servers and serve Berth in a thread of this process."""
    tmp = Path(tempfile.mkdtemp(prefix=f"berth-bench-{name}-"))
    redis = RedisServer(tmp / "redis")
    redis.start()
    http_port, registry_port = free_port(), free_port()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "registry_ui.settings",
            "BERTH_DATA_DIR": str(tmp / "data"),
            "REDIS_URL": redis.url,
            "BERTH_HTTP_PORT": str(http_port),
            "BERTH_REGISTRY_PORT": str(registry_port),
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from dashboard.registry.config import render_registry_config
    from dashboard.registry.tokens import ensure_signing_key

    call_command("migrate", verbosity=0)
    ensure_signing_key()
    registry = RegistryProcess(tmp / "registry", registry_port)
    registry.write_config(render_registry_config(debug_addr=f"127.0.0.1:{free_port()}"))
    registry.start()
    server = _serve(http_port)
    return BenchEnv(tmp, redis, registry, f"http://127.0.0.1:{http_port}", server)


def _serve(port: int) -> object:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        # Without it every small answer waits ~40 ms for Nagle's algorithm over loopback.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, allow_reuse_address=True)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    import requests

    wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok, what="web")
    return server


def timed(fn: Callable[[], object], *, repeat: int = 20, warmup: int = 2) -> float:
    """Median seconds of `fn` over `repeat` runs, after `warmup` runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def report(name: str, value: float, reference: float, *, unit: str, target: str) -> None:
    ratio = value / reference if reference else float("inf")
    print(
        f"{name}: {value:.4g} {unit} vs reference {reference:.4g} {unit}: ratio {ratio:.3f} "
        f"(target {target})"
    )
