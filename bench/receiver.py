"""Notification ingestion: events per second the receiver accepts, under gunicorn.

The reference is the same server answering `/healthz` with the same client concurrency, in
the same run: the ratio says what storing an event costs over a bare request.

    .venv/bin/python bench/receiver.py [--events 5000] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from harness import ROOT, start
from tests.servers import free_port, wait_for


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    env = start("receiver")
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "registry_ui.wsgi",
            "-w",
            "2",
            "--threads",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "BERTH_HTTP_PORT": str(port)},
    )
    try:
        import requests

        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: requests.get(f"{url}/healthz", timeout=1).ok, what="gunicorn")
        run(url, args.events, args.threads)
    finally:
        gunicorn.terminate()
        gunicorn.wait(10)
        env.stop()


def _event(i: int) -> bytes:
    digest = "sha256:" + uuid.uuid4().hex * 2
    body = {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "timestamp": "2026-11-29T17:47:41.887034263Z",
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "size": 501,
                    "digest": digest,
                    "length": 501,
                    "repository": f"load/app{i % 50}",
                    "url": f"http://127.0.0.1:5000/v2/load/app/manifests/{digest}",
                    "tag": f"t{i}",
                },
                "request": {
                    "id": str(uuid.uuid4()),
                    "addr": "127.0.0.1:1",
                    "host": "127.0.0.1",
                    "method": "PUT",
                    "useragent": "bench",
                },
                "actor": {"name": "bench"},
                "source": {"addr": "bench:5000", "instanceID": str(uuid.uuid4())},
            }
        ]
    }
    return json.dumps(body, indent=3).encode()


def run(url: str, count: int, threads: int) -> None:
    import requests
    from django.conf import settings

    from dashboard.models import RegistryEvent

    bodies = [_event(i) for i in range(count)]
    headers = {
        "Authorization": f"Bearer {settings.NOTIFY_SECRET}",
        "Content-Type": "application/vnd.docker.distribution.events.v1+json",
    }

    def post_all(chunk: list[bytes]) -> int:
        session = requests.Session()
        ok = 0
        for body in chunk:
            ok += (
                session.post(
                    f"{url}/service/notifications", data=body, headers=headers, timeout=10
                ).status_code
                == 200
            )
        return ok

    def get_all(n: int) -> int:
        session = requests.Session()
        return sum(session.get(f"{url}/healthz", timeout=10).ok for _ in range(n))

    chunks = [bodies[i::threads] for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        accepted = sum(pool.map(post_all, chunks))
    event_rate = accepted / (time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        answered = sum(pool.map(get_all, [count // threads] * threads))
    health_rate = answered / (time.perf_counter() - started)
    stored = RegistryEvent.objects.count()
    print(f"accepted {accepted}/{count} events, {stored} stored")
    print(
        f"receiver: {event_rate:.0f} events/s (target >= 1000/s); /healthz: {health_rate:.0f} "
        f"req/s; ratio {event_rate / health_rate:.3f}"
    )


if __name__ == "__main__":
    main()
