"""Image sync against skopeo: the same image between the same two registries, in the same run.

(a) One image with a 200 MB incompressible layer: the time of Berth's sync job divided by the
    time of `skopeo copy` (target <= 1.0), and the peak memory of the worker process that ran
    the copy (target < 150 MB).
(b) 200 small tags of one repository: Berth's one sync job divided by `skopeo sync` of the
    repository (target <= 0.5).

Everything is real and local: Berth (web in this process, token realm included), its
docker-registry (token auth) as the source, and a Celery worker *process* for the `jobs` queue
(solo pool, so the task runs in it: its peak resident memory is read from /proc/<pid>/status,
reset through /proc/<pid>/clear_refs before each copy) plus one for indexing. Each run starts a
new target docker-registry (htpasswd Basic auth) that both sides copy into, in turn (which side
goes first alternates), so neither finds the other's blobs there nor mounts them from an earlier
run (skopeo remembers where it saw blobs). Berth's time runs from `sync_images` to the job's end
as the database shows it (polled every 20 ms). Medians are reported.

    .venv/bin/python bench/sync.py [--layer-mb 200] [--tags 200] [--runs 4] [--sync-runs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import ROOT, BenchEnv, report, start

PASSWORD = "bench-password-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer-mb", type=int, default=200)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument(
        "--runs", type=int, default=4, help="runs of (a); even, so each side goes first as often"
    )
    parser.add_argument("--sync-runs", type=int, default=2, help="runs of (b)")
    args = parser.parse_args()
    if not shutil.which("skopeo"):
        sys.exit("skopeo is needed (apt-get install skopeo)")
    os.environ["BERTH_RATE_LIMIT_TOKEN"] = "0"  # skopeo asks the realm for every image
    env = start("sync")
    bench = SyncBench(env)
    try:
        bench.big_layer(args.layer_mb, args.runs)
        bench.many_tags(args.tags, args.sync_runs)
    finally:
        bench.stop()
        env.stop()


def _status(pid: int, field: str) -> int:
    """A memory figure of process `pid` from /proc/<pid>/status, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


class SyncBench:
    def __init__(self, env: BenchEnv) -> None:
        from django.contrib.auth import get_user_model

        from dashboard.models import Organization
        from dashboard.registry.client import get_client

        self.env = env
        self.workers = [self._worker("jobs"), self._worker("celery")]
        self.admin = get_user_model().objects.create_superuser("bench", "b@example.com", PASSWORD)
        Organization.objects.create(name="bench", creator=self.admin)
        self.source = get_client()
        self.source_host = self.source.base_url.split("://", 1)[1]
        self.targets: list[Any] = []

    def _worker(self, queue: str) -> subprocess.Popen[bytes]:
        log = (self.env.tmp / f"worker-{queue}.log").open("ab")
        return subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "registry_ui", "worker", "-l", "WARNING",
                "--pool", "solo", "--queues", queue, "--hostname", f"bench-{queue}@%h",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        for target in self.targets:
            target.process.stop()
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()

    # -- the two sides -------------------------------------------------------------------------

    def _target(self) -> tuple[Any, Any]:
        """A new target registry, registered in Berth as a remote."""
        from dashboard.services.sync import remote_registry_create
        from tests.sync_targets import start_basic_target

        name = f"t{uuid.uuid4().hex[:8]}"
        target = start_basic_target(self.env.tmp / name)
        self.targets.append(target)
        remote = remote_registry_create(
            name=name,
            url=target.url,
            username=target.username,
            password=target.password,
            actor=self.admin,
        )
        return target, remote

    def berth(self, repository: Any, tags: list[str], remote: Any, namespace: str) -> float:
        """Seconds from asking for the sync to the job's end."""
        from dashboard.models import Job
        from dashboard.services.sync import sync_images

        started = time.perf_counter()
        job = sync_images(
            repository=repository,
            tags=tags,
            remote=remote,
            remote_namespace=namespace,
            actor=self.admin,
        ).job
        assert job is not None
        while not Job.objects.get(pk=job.pk).is_finished:
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED:
            raise RuntimeError(f"Berth's sync failed: {job.error_code} {job.error_message}")
        return elapsed

    def skopeo(self, command: str, target: Any, source: str, destination: str) -> float:
        home = tempfile.mkdtemp(prefix="skopeo-home-")
        argv = [
            "skopeo", command,
            *(["--src", "docker", "--dest", "docker"] if command == "sync" else []),
            "--src-tls-verify=false", "--dest-tls-verify=false",
            "--src-creds", f"bench:{PASSWORD}",
            "--dest-creds", f"{target.username}:{target.password}",
            source, destination,
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": home, "XDG_RUNTIME_DIR": home},
        )
        elapsed = time.perf_counter() - started
        shutil.rmtree(home, ignore_errors=True)
        if done.returncode:
            raise RuntimeError(f"skopeo {command} failed: {done.stderr[-2000:]}")
        return elapsed

    def _indexed(self, name: str, count: int) -> Any:
        from dashboard.models import Repository, Tag
        from tests.servers import wait_for

        wait_for(
            lambda: Tag.objects.filter(repository__name=name).count() >= count,
            timeout=300,
            what=f"the index to learn {count} tag(s) of bench/{name}",
        )
        return Repository.objects.select_related("organization").get(name=name)

    @staticmethod
    def _in_turn(run: int, *steps: Callable[[], None]) -> None:
        for step in steps if run % 2 == 0 else reversed(steps):
            os.sync()  # the previous copy's writes are on disk: each side starts equal
            step()

    # -- (a) --------------------------------------------------------------------------------

    def big_layer(self, megabytes: int, runs: int) -> None:
        from dashboard.registry.images import build_image, push_image

        print(f"building an image with a {megabytes} MB incompressible layer...", flush=True)
        image = build_image(files={"data.bin": os.urandom(megabytes * 1024 * 1024)})
        push_image(self.source, "bench/big", image, "v1")
        size = sum(len(blob) for blob in image.blobs.values())
        del image
        repository = self._indexed("big", 1)
        pid = self.workers[0].pid
        ours: list[float] = []
        theirs: list[float] = []
        peaks: list[tuple[int, int]] = []
        for run in range(runs):
            target, remote = self._target()

            def berth(remote: Any = remote) -> None:
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak RSS := current RSS
                before = _status(pid, "VmRSS")
                ours.append(self.berth(repository, ["v1"], remote, "berth"))
                peaks.append((before, _status(pid, "VmHWM")))

            def skopeo(target: Any = target) -> None:
                theirs.append(
                    self.skopeo(
                        "copy",
                        target,
                        f"docker://{self.source_host}/bench/big:v1",
                        f"docker://{target.process.host}/skopeo/big:v1",
                    )
                )

            self._in_turn(run, berth, skopeo)
            target.process.stop()
            print(
                f"  run {run + 1}: Berth {ours[-1]:.2f} s, skopeo copy {theirs[-1]:.2f} s; worker "
                f"RSS {peaks[-1][0] / 1024:.0f} MB before, peak {peaks[-1][1] / 1024:.0f} MB",
                flush=True,
            )
        berth_median, skopeo_median = statistics.median(ours), statistics.median(theirs)
        print(f"(a) one image, {size / 1e6:.0f} MB of blobs:")
        report("  sync time", berth_median, skopeo_median, unit="s", target="<= 1.0")
        print(
            f"  throughput: Berth {size / berth_median / 1e6:.0f} MB/s, "
            f"skopeo {size / skopeo_median / 1e6:.0f} MB/s"
        )
        print(
            f"  worker peak RSS during the copy: {max(p for _, p in peaks) / 1024:.0f} MB "
            f"(target < 150 MB); its RSS just before: {max(b for b, _ in peaks) / 1024:.0f} MB"
        )

    # -- (b) --------------------------------------------------------------------------------

    def many_tags(self, count: int, runs: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from dashboard.registry.images import build_image, push_image

        print(f"pushing {count} small tags...", flush=True)
        tags = [f"t{n:03d}" for n in range(count)]

        def push(tag: str) -> str:
            # One config per tag, one layer shared by all: what a CI pushing builds looks like.
            return push_image(self.source, "bench/small", build_image(labels={"tag": tag}), tag)

        with ThreadPoolExecutor(8) as pool:
            assert len(set(pool.map(push, tags))) == count
        repository = self._indexed("small", count)
        ours: list[float] = []
        theirs: list[float] = []
        for run in range(runs):
            target, remote = self._target()

            def berth(remote: Any = remote) -> None:
                ours.append(self.berth(repository, tags, remote, "berth"))

            def skopeo(target: Any = target) -> None:
                theirs.append(
                    self.skopeo(
                        "sync",
                        target,
                        f"{self.source_host}/bench/small",
                        f"{target.process.host}/skopeo",
                    )
                )

            self._in_turn(run, berth, skopeo)
            target.process.stop()
            print(
                f"  run {run + 1}: Berth {ours[-1]:.2f} s, skopeo sync {theirs[-1]:.2f} s",
                flush=True,
            )
        print(f"(b) {count} small tags:")
        report(
            "  sync time",
            statistics.median(ours),
            statistics.median(theirs),
            unit="s",
            target="<= 0.5",
        )


if __name__ == "__main__":
    main()
