"""Run all of Berth in the foreground: registry, redis, Celery worker and beat, web server.

`make run` ends here. Bootstraps first (keys, registry config, migrations, admin), starts every
process under `dashboard.supervisor`, waits until web and registry answer, seeds the demo
content on first start, prints where everything is, and stops everything on SIGINT/SIGTERM or
when any process dies.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from gunicorn import version_info as gunicorn_version

from dashboard.management.commands.berth_bootstrap import (
    BootstrapResult,
    PasswordSource,
    bootstrap,
)
from dashboard.supervisor import (
    Child,
    ChildSpec,
    Supervisor,
    free_port,
    port_is_free,
    wait_until,
)

STARTUP_TIMEOUT = 90.0
SEED_TIMEOUT = 300.0
APT_HINT = "apt-get install docker-registry redis-server"


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _manage(*args: str) -> list[str]:
    return _python(str(Path(settings.BASE_DIR) / "manage.py"), *args)


def registry_binary() -> str:
    """Debian ships distribution as `docker-registry`; upstream builds call it `registry`."""
    for name in ("docker-registry", "registry"):
        path = shutil.which(name)
        if path:
            return path
    raise CommandError(f"No docker-registry binary on PATH. Install it: {APT_HINT}")


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, ValueError, OSError):
        return False


def redacted(url: str) -> str:
    """`url` without its password, for printing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def registry_listen_addresses(config_file: Path) -> tuple[str, str | None]:
    """The rendered config's `http.addr` and `http.debug.addr`: where the registry will listen."""
    config = yaml.safe_load(config_file.read_text())
    http = config.get("http", {})
    return str(http["addr"]), (http.get("debug") or {}).get("addr")


def _split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def _env_false(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("0", "false", "no", "off")


def _http_answers(url: str, *, expect: tuple[int, ...]) -> bool:
    try:
        return requests.get(url, timeout=1, allow_redirects=False).status_code in expect
    except requests.RequestException:
        return False


class Command(BaseCommand):
    help = (
        "Run Berth in the foreground: docker-registry, redis (unless REDIS_URL answers), "
        "Celery worker and beat, and gunicorn on 127.0.0.1:$BERTH_HTTP_PORT. Ctrl-C stops all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (3)")
        parser.add_argument(
            "--access-log", action="store_true", help="print gunicorn's access log lines"
        )
        parser.add_argument(
            "--no-seed", action="store_true", help="skip seed_demo (also BERTH_SEED_DEMO=false)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        supervisor = Supervisor(sys.stdout)
        result = bootstrap(say=supervisor.say, verbosity=options["verbosity"])
        self._check_ports()
        supervisor.install_signal_handlers()
        try:
            failure = self._run(supervisor, result, options)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            supervisor.stop_all()
        if failure:
            raise CommandError(failure)
        supervisor.say("stopped")

    # --- the steps ---------------------------------------------------------------------------

    def _run(self, supervisor: Supervisor, result: BootstrapResult, options: Any) -> str | None:
        """Start everything and supervise until stopped. Returns a failure message or None."""
        env = self._child_env(supervisor)
        registry_addr, debug_addr = registry_listen_addresses(result.registry_config)
        # The debug listener's health check answers without the auth warning /v2/ logs.
        registry_health = (
            f"http://{debug_addr}/debug/health" if debug_addr else f"http://{registry_addr}/v2/"
        )
        self._start_processes(supervisor, env, options)
        ready, exited = wait_until(
            supervisor,
            lambda: (
                _http_answers(registry_health, expect=(200, 401))
                and _http_answers(self._web_url("/healthz"), expect=(200,))
            ),
            timeout=STARTUP_TIMEOUT,
        )
        if not ready:
            return self._startup_failure(supervisor, exited)
        failure = self._seed(supervisor, env, options)
        if failure:
            return failure
        self._banner(supervisor, result)
        return self._supervise(supervisor)

    def _check_ports(self) -> None:
        registry_addr, debug_addr = registry_listen_addresses(Path(settings.REGISTRY_CONFIG_FILE))
        wanted = [("web (BERTH_HTTP_PORT)", "127.0.0.1", settings.HTTP_PORT)]
        wanted.append(("registry (BERTH_REGISTRY_PORT)", *_split_addr(registry_addr)))
        if debug_addr:
            wanted.append(("registry debug (BERTH_REGISTRY_PORT + 1)", *_split_addr(debug_addr)))
        busy = [
            f"{what}: {host}:{port}" for what, host, port in wanted if not port_is_free(host, port)
        ]
        if busy:
            raise CommandError(
                "These ports are already in use (is another Berth running?): "
                + "; ".join(busy)
                + ". Stop that process or choose other ports."
            )

    def _child_env(self, supervisor: Supervisor) -> dict[str, str]:
        """The environment every child gets: ours, plus a redis that answers."""
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="registry_ui.settings",
            BERTH_DATA_DIR=str(settings.DATA_DIR),
            PYTHONUNBUFFERED="1",
        )
        if settings.REDIS_URL and redis_answers(settings.REDIS_URL):
            supervisor.say(f"using the redis at REDIS_URL={redacted(settings.REDIS_URL)}")
            env["REDIS_URL"] = settings.REDIS_URL
            return env
        if settings.REDIS_URL:
            supervisor.say(
                f"REDIS_URL={redacted(settings.REDIS_URL)} does not answer; starting our own"
            )
        env["REDIS_URL"] = self._start_redis(supervisor)
        return env

    def _start_redis(self, supervisor: Supervisor) -> str:
        binary = shutil.which("redis-server")
        if not binary:
            raise CommandError(f"No redis-server on PATH and no REDIS_URL. Install it: {APT_HINT}")
        workdir = Path(settings.DATA_DIR) / "redis"
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        argv = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--protected-mode", "yes",
            "--dir", str(workdir),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", "",
        ]  # fmt: skip
        supervisor.start(ChildSpec(name="redis", argv=argv))
        ready, exited = wait_until(supervisor, lambda: redis_answers(url), timeout=20)
        if not ready:
            raise CommandError(self._startup_failure(supervisor, exited) or "redis did not start")
        supervisor.say(f"redis answers on {url}")
        return url

    def _start_processes(self, supervisor: Supervisor, env: dict[str, str], options: Any) -> None:
        base = Path(settings.BASE_DIR)
        gunicorn = [
            "-m", "gunicorn", "registry_ui.wsgi",
            "--bind", f"127.0.0.1:{settings.HTTP_PORT}",
            "--workers", str(options["workers"]),
            "--timeout", "120",
            "--graceful-timeout", "10",
        ]  # fmt: skip
        if gunicorn_version >= (27, 0):
            # One control socket per user by default: two Berths (or a test run) would clash.
            gunicorn.append("--no-control-socket")
        if options["access_log"]:
            gunicorn += ["--access-logfile", "-"]
        specs = [
            ChildSpec(
                name="registry",
                argv=[registry_binary(), "serve", str(settings.REGISTRY_CONFIG_FILE)],
                env=env,
                cwd=base,
            ),
            # Indexing and webhook deliveries; long jobs (sync, retention) have their own
            # worker so that a big copy never holds up the index.
            ChildSpec(
                name="worker",
                argv=_python(
                    "-m", "celery", "-A", "registry_ui", "worker", "-l", "info",
                    "--queues", "celery", "--concurrency", "2", "--hostname", "berth@%h",
                ),
                env=env,
                cwd=base,
            ),
            ChildSpec(
                name="jobs",
                argv=_python(
                    "-m", "celery", "-A", "registry_ui", "worker", "-l", "info",
                    "--queues", "jobs", "--concurrency", "2", "--hostname", "berth-jobs@%h",
                ),
                env=env,
                cwd=base,
            ),
            ChildSpec(
                name="beat",
                argv=_python(
                    "-m", "celery", "-A", "registry_ui", "beat", "-l", "info",
                    "-s", str(Path(settings.DATA_DIR) / "celerybeat-schedule"),
                ),
                env=env,
                cwd=base,
            ),
            ChildSpec(name="web", argv=_python(*gunicorn), env=env, cwd=base),
        ]  # fmt: skip
        for spec in specs:
            supervisor.start(spec)

    def _seed(self, supervisor: Supervisor, env: dict[str, str], options: Any) -> str | None:
        """Seed the demo content on first start; a failed seed is reported, not fatal."""
        stamp = Path(settings.DATA_DIR) / "demo-seeded"
        if options["no_seed"] or _env_false("BERTH_SEED_DEMO"):
            return None
        if stamp.exists():
            supervisor.say(f"demo content was seeded before (delete {stamp} to seed again)")
            return None
        if "seed_demo" not in get_commands():
            supervisor.say("seed_demo is not available yet; skipping the demo content")
            return None
        seed = supervisor.start(
            ChildSpec(
                name="seed",
                argv=_manage("seed_demo"),
                env=env,
                cwd=Path(settings.BASE_DIR),
                one_shot=True,
            )
        )
        done, exited = wait_until(supervisor, lambda: not seed.running, timeout=SEED_TIMEOUT)
        if any(not c.spec.one_shot for c in exited):
            return self._startup_failure(supervisor, exited)
        if supervisor.stopping:
            return None
        if done and seed.returncode == 0:
            stamp.write_text("seeded by run_berth\n")
            return None
        if seed.running:
            seed.signal_group(signal.SIGTERM)
            outcome = f"did not finish within {SEED_TIMEOUT:.0f}s"
        else:
            outcome = f"failed (exit {seed.returncode})"
        supervisor.say(
            f"seed_demo {outcome}; Berth keeps running. "
            "Retry with: .venv/bin/python manage.py seed_demo"
        )
        return None

    def _supervise(self, supervisor: Supervisor) -> str | None:
        while not supervisor.stopping:
            for child in supervisor.pump(0.5):
                if not child.spec.one_shot:
                    return (
                        f"{child.name} exited unexpectedly (exit {child.returncode}); stopped Berth"
                    )
        assert supervisor.stop_signal is not None
        supervisor.say(f"received {signal.Signals(supervisor.stop_signal).name}; stopping")
        return None

    def _startup_failure(self, supervisor: Supervisor, exited: list[Child]) -> str | None:
        if supervisor.stopping:
            return None
        dead = [c for c in exited if not c.spec.one_shot]
        if dead:
            child = dead[0]
            return (
                f"{child.name} exited during startup (exit {child.returncode}); "
                "its last lines are above. Stopped Berth."
            )
        return f"Berth did not become ready within {STARTUP_TIMEOUT:.0f}s; stopped it."

    # --- output -------------------------------------------------------------------------------

    def _web_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{settings.HTTP_PORT}{path}"

    def _banner(self, supervisor: Supervisor, result: BootstrapResult) -> None:
        admin = result.admin
        if admin.source is PasswordSource.GENERATED:
            password = f"{admin.password}   (generated now; also in {admin.password_file})"
        elif admin.source is PasswordSource.ENV:
            password = "the value of BERTH_ADMIN_PASSWORD"
        elif admin.source is PasswordSource.FILE:
            password = f"in {admin.password_file} (unless you changed it since)"
        else:
            password = "unchanged (set BERTH_ADMIN_PASSWORD and restart to reset it)"
        host = settings.REGISTRY_HOST
        public = settings.PUBLIC_URL
        insecure = "--tls-verify=false " if urlsplit(settings.REGISTRY_URL).scheme == "http" else ""
        rows = [
            ("Dashboard", f"{self._web_url('/')}" + ("" if public == self._web_url("")
                                                     else f"  (public: {public}/)")),
            ("Sign in", f"user {admin.username}"),
            ("Password", password),
            ("Registry", f"docker login {host} -u {admin.username}"),
            ("", f"skopeo login {insecure}{host} -u {admin.username}"),
            ("Data", str(settings.DATA_DIR)),
            ("Stop", "Ctrl-C"),
        ]  # fmt: skip
        line = "=" * 78
        body = "\n".join(f"  {label:<10} {value}" for label, value in rows)
        supervisor.write(f"\n{line}\n  Berth is running\n\n{body}\n{line}\n\n")
