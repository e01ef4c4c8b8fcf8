"""Deployment: the registry config template, the bootstrap command, `run_berth` (what `make run`
starts) and the compose stack. Commands that start processes run as subprocesses with a data
directory of their own, as a user would run them."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command

from dashboard.management.commands.run_berth import redacted
from dashboard.registry.tokens import generate_signing_key

BASE_DIR = Path(settings.BASE_DIR)
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]


# --- helpers ------------------------------------------------------------------------------------


def _free_port_pair() -> int:
    """A port p with p and p + 1 free (the registry listens on p, its debug server on p + 1)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < 65535:
            with socket.socket() as other:
                try:
                    other.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two adjacent free ports")


def _berth_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a Berth command with its own data directory; values a developer's
    .env might set are pinned so the run is hermetic."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BERTH_", "DJANGO_"))}
    http_port = extra.pop("BERTH_HTTP_PORT", "18999")
    registry_port = extra.pop("BERTH_REGISTRY_PORT", "15999")
    env.update(
        DJANGO_SETTINGS_MODULE="registry_ui.settings",
        BERTH_DATA_DIR=str(data_dir),
        BERTH_HTTP_PORT=http_port,
        BERTH_REGISTRY_PORT=registry_port,
        BERTH_PUBLIC_URL=f"http://127.0.0.1:{http_port}",
        BERTH_REGISTRY_URL=f"http://127.0.0.1:{registry_port}",
        BERTH_REGISTRY_HOST=f"127.0.0.1:{registry_port}",
        BERTH_REGISTRY_DATA_DIR=str(data_dir / "registry"),
        BERTH_REGISTRY_CONFIG=str(data_dir / "registry" / "config.yml"),
        BERTH_TOKEN_KEY_FILE=str(data_dir / "keys" / "token.key"),
        BERTH_TOKEN_CERT_FILE=str(data_dir / "keys" / "token.crt"),
        DATABASE_URL=f"sqlite:///{data_dir / 'berth.sqlite3'}",
        REDIS_URL="",
        SECRET_KEY="",
        BERTH_NOTIFY_SECRET="",
        BERTH_ADMIN_PASSWORD="",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _bootstrap(data_dir: Path, **extra: str) -> str:
    result = subprocess.run(
        [*MANAGE, "berth_bootstrap"],
        env=_berth_env(data_dir, **extra),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _admin_password_hash(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "berth.sqlite3") as db:
        row = db.execute(
            "SELECT password FROM auth_user WHERE username = 'admin' AND is_superuser = 1"
        ).fetchone()
    assert row, "no admin superuser"
    return str(row[0])


def _render(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("registry_config", *args, stdout=out)
    config = yaml.safe_load(out.getvalue())
    assert isinstance(config, dict)
    return config


def _compose() -> dict[str, Any]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(compose, dict)
    return compose


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> volume name (or host path) of a service's short-syntax volumes."""
    mounts = {}
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2]
        mounts[target] = source
    return mounts


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes (zombies aside) whose arguments contain `text`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(f"{proc.name}: {cmdline}")
    return found


# --- the registry config template ----------------------------------------------------------------


def test_registry_config_has_token_auth_notifications_without_pulls_and_delete() -> None:
    config = _render()

    token = config["auth"]["token"]
    assert token["realm"] == f"{settings.PUBLIC_URL}/service/token"
    assert token["service"] == settings.TOKEN_SERVICE
    assert token["issuer"] == settings.TOKEN_ISSUER
    assert token["rootcertbundle"] == str(settings.TOKEN_CERT_FILE)
    assert config["storage"]["delete"]["enabled"] is True

    [endpoint] = config["notifications"]["endpoints"]
    assert endpoint["url"] == f"{settings.PUBLIC_URL}/service/notifications"
    assert endpoint["headers"]["Authorization"] == [f"Bearer {settings.NOTIFY_SECRET}"]
    assert "pull" in endpoint["ignore"]["actions"]
    # distribution 2.8 ignores `actions` unless `mediatypes` is non-empty.
    assert endpoint["ignore"]["mediatypes"]
    assert config["notifications"]["events"]["includereferences"] is True


def test_registry_config_options_override_single_values() -> None:
    config = _render(
        "--http-addr", "0.0.0.0:5000",
        "--debug-addr", "127.0.0.1:5001",
        "--storage-dir", "/var/lib/registry",
        "--rootcertbundle", "/etc/distribution/token.crt",
        "--public-url", "http://web:8000/",
    )  # fmt: skip

    assert config["http"]["addr"] == "0.0.0.0:5000"
    assert config["http"]["debug"]["addr"] == "127.0.0.1:5001"
    assert config["storage"]["filesystem"]["rootdirectory"] == "/var/lib/registry"
    assert config["auth"]["token"]["rootcertbundle"] == "/etc/distribution/token.crt"
    assert config["auth"]["token"]["realm"] == "http://web:8000/service/token"
    assert config["notifications"]["endpoints"][0]["url"] == "http://web:8000/service/notifications"


def test_registry_config_output_is_private_and_rewritten_only_when_changed(
    tmp_path: Path,
) -> None:
    target = tmp_path / "etc" / "config.yml"
    call_command("registry_config", "--output", str(target), verbosity=0)
    assert target.stat().st_mode & 0o777 == 0o600
    first = target.stat().st_mtime_ns
    time.sleep(0.01)
    call_command("registry_config", "--output", str(target), verbosity=0)
    assert target.stat().st_mtime_ns == first
    assert yaml.safe_load(target.read_text())["auth"]["token"]["service"] == settings.TOKEN_SERVICE


def test_registry_config_install_cert_copies_the_token_certificate(tmp_path: Path) -> None:
    bundle = tmp_path / "etc" / "token.crt"
    call_command(
        "registry_config",
        "--output", str(tmp_path / "etc" / "config.yml"),
        "--rootcertbundle", str(bundle),
        "--install-cert",
        verbosity=0,
    )  # fmt: skip
    assert bundle.read_bytes() == Path(settings.TOKEN_CERT_FILE).read_bytes()


@pytest.mark.registry
def test_docker_registry_serves_the_rendered_config_with_berths_realm(tmp_path: Path) -> None:
    binary = shutil.which("docker-registry") or shutil.which("registry")
    assert binary, "docker-registry is not installed (apt-get install docker-registry)"
    generate_signing_key(tmp_path / "token.key", tmp_path / "token.crt")
    port = _free_port_pair()
    config = tmp_path / "config.yml"
    call_command(
        "registry_config",
        "--output", str(config),
        "--http-addr", f"127.0.0.1:{port}",
        "--debug-addr", f"127.0.0.1:{port + 1}",
        "--storage-dir", str(tmp_path / "storage"),
        "--rootcertbundle", str(tmp_path / "token.crt"),
        "--public-url", "http://berth.test:8000",
        verbosity=0,
    )  # fmt: skip
    log = (tmp_path / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port + 1}/debug/health", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, (tmp_path / "registry.log").read_text()
                assert time.monotonic() < deadline, "docker-registry did not start"
                time.sleep(0.1)
        assert health.status_code == 200
        response = requests.get(f"http://127.0.0.1:{port}/v2/", timeout=5)
    finally:
        process.terminate()
        process.wait(10)
        log.close()

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'realm="http://berth.test:8000/service/token"' in challenge
    assert f'service="{settings.TOKEN_SERVICE}"' in challenge


# --- berth_bootstrap -------------------------------------------------------------------------


def _password_matches(password: str, encoded: str) -> bool:
    """Bootstrap runs in a subprocess with Django's default hasher; the test process hashes
    with MD5 for speed, so verify with PBKDF2 explicitly."""
    return PBKDF2PasswordHasher().verify(password, encoded)


def test_bootstrap_is_idempotent_and_keeps_keys_and_generated_password(tmp_path: Path) -> None:
    data = tmp_path / "data"

    first = _bootstrap(data)
    keys = data / "keys"
    password = (keys / "admin-password").read_text().strip()
    key, cert = (keys / "token.key").read_bytes(), (keys / "token.crt").read_bytes()
    config = (data / "registry" / "config.yml").read_text()
    second = _bootstrap(data)

    assert f'password "{password}"' in first
    assert password not in second
    assert str(keys / "admin-password") in second
    assert (keys / "admin-password").stat().st_mode & 0o777 == 0o600
    assert (keys / "admin-password").read_text().strip() == password
    assert (keys / "token.key").read_bytes() == key
    assert (keys / "token.crt").read_bytes() == cert
    assert (data / "registry" / "config.yml").read_text() == config
    assert _password_matches(password, _admin_password_hash(data))


def test_bootstrap_sets_the_admin_password_from_the_environment_on_every_run(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"

    _bootstrap(data)
    _bootstrap(data, BERTH_ADMIN_PASSWORD="first-secret-1")
    assert _password_matches("first-secret-1", _admin_password_hash(data))
    # The generated password no longer applies, so it is no longer announced.
    assert not (data / "keys" / "admin-password").exists()

    _bootstrap(data, BERTH_ADMIN_PASSWORD="second-secret-2")
    assert _password_matches("second-secret-2", _admin_password_hash(data))


# --- run_berth (make run) ------------------------------------------------------------------------


class RunBerth:
    """`manage.py run_berth` in its own process group, output in a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.http_port = _free_port_pair()
        self.registry_port = _free_port_pair()
        self.log_path = tmp_path / "run_berth.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*MANAGE, "run_berth"],
            env=_berth_env(
                self.data,
                BERTH_HTTP_PORT=str(self.http_port),
                BERTH_REGISTRY_PORT=str(self.registry_port),
                BERTH_SEED_DEMO="false",
                NO_COLOR="1",
            ),
            cwd=BASE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "Berth is running" not in self.log:
            assert self.process.poll() is None, f"run_berth exited early:\n{self.log}"
            assert time.monotonic() < deadline, f"run_berth not ready:\n{self.log}"
            time.sleep(0.2)

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"run_berth did not stop within {timeout}s:\n{self.log}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._log.close()


@pytest.fixture
def run_berth(tmp_path: Path) -> Iterator[RunBerth]:
    runner = RunBerth(tmp_path)
    try:
        yield runner
    finally:
        runner.kill()


def _assert_nothing_left(data_dir: Path) -> None:
    deadline = time.monotonic() + 10
    while (left := _processes_mentioning(str(data_dir))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left behind: {left}"


def test_run_berth_never_prints_the_redis_password() -> None:
    assert redacted("redis://:s3cret@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redacted("redis://user:s3cret@redis/0") == "redis://user:***@redis/0"
    assert redacted("redis://127.0.0.1:6380/0") == "redis://127.0.0.1:6380/0"


@pytest.mark.registry
def test_run_berth_serves_web_and_registry_and_stops_every_child_on_sigterm(
    run_berth: RunBerth,
) -> None:
    run_berth.wait_ready()
    web = f"http://127.0.0.1:{run_berth.http_port}"

    assert requests.get(f"{web}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{web}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"] == "ok"
    challenge = requests.get(f"http://127.0.0.1:{run_berth.registry_port}/v2/", timeout=5)
    assert challenge.status_code == 401
    assert f'realm="{web}/service/token"' in challenge.headers["WWW-Authenticate"]
    password = (run_berth.data / "keys" / "admin-password").read_text().strip()
    assert password in run_berth.log
    assert f"docker login 127.0.0.1:{run_berth.registry_port} -u admin" in run_berth.log

    run_berth.process.send_signal(signal.SIGTERM)

    assert run_berth.wait_exit() == 0, run_berth.log
    _assert_nothing_left(run_berth.data)


@pytest.mark.registry
def test_run_berth_stops_everything_when_a_child_dies(run_berth: RunBerth) -> None:
    run_berth.wait_ready()
    [registry] = [
        line for line in _processes_mentioning(str(run_berth.data)) if "registry" in line.split()[1]
    ]

    os.kill(int(registry.split(":")[0]), signal.SIGKILL)

    assert run_berth.wait_exit() != 0
    assert re.search(r"registry exited unexpectedly", run_berth.log), run_berth.log
    _assert_nothing_left(run_berth.data)


# --- compose -------------------------------------------------------------------------------------


def test_compose_file_is_valid() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        # `make test` installs it; only a hand-run pytest on a machine without it may skip.
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing in CI: `make test` should have installed it")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_compose_registry_mounts_the_config_rendered_from_berths_template() -> None:
    services = _compose()["services"]
    step, registry = services["registry-config"], services["registry"]
    argv = [str(arg) for arg in step["command"]]
    assert argv[:3] == ["python", "manage.py", "registry_config"]
    output = _option(argv, "--output")
    config_dir = str(Path(output).parent)

    volume = _mounts(step)[config_dir]
    assert _mounts(registry)[config_dir] == volume
    assert output in registry["command"]
    assert str(Path(_option(argv, "--rootcertbundle")).parent) == config_dir
    assert "--install-cert" in argv
    assert _mounts(registry)[_option(argv, "--storage-dir")] == "registry-data"
    assert registry["depends_on"]["registry-config"]["condition"] == (
        "service_completed_successfully"
    )


def test_compose_registry_config_reaches_web_and_keeps_debug_on_loopback() -> None:
    services = _compose()["services"]
    argv = [str(arg) for arg in services["registry-config"]["command"]]
    args = [a for a in argv[3:] if a != "--install-cert"]
    args = [a for i, a in enumerate(args) if a != "--output" and args[i - 1 : i] != ["--output"]]

    config = _render(*args)

    assert config["notifications"]["endpoints"][0]["url"] == "http://web:8000/service/notifications"
    # Clients are sent to the public address, never to web's in-network name.
    realm = config["auth"]["token"]["realm"]
    assert realm.startswith("${BERTH_PUBLIC_URL") and realm.endswith("/service/token")
    debug_addr = config["http"]["debug"]["addr"]
    assert debug_addr.startswith("127.0.0.1:")
    assert debug_addr in " ".join(services["registry"]["healthcheck"]["test"])
    assert services["web"]["environment"]["ALLOWED_HOSTS"].startswith("web,")


def test_compose_services_have_healthchecks_and_wait_for_healthy_dependencies() -> None:
    services = _compose()["services"]
    one_shots = {"bootstrap", "registry-config"}
    for name, service in services.items():
        if name in one_shots:
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
        for dependency, condition in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency in one_shots else "service_healthy"
            )
            assert condition["condition"] == expected, (name, dependency)
    assert {
        "web",
        "worker",
        "worker-jobs",
        "beat",
        "registry",
        "redis",
        "postgres",
        "proxy",
    } <= set(services)


def test_proxy_sends_the_swr_api_and_token_realm_to_web_and_the_rest_of_v2_to_the_registry() -> (
    None
):
    conf = (BASE_DIR / "deploy" / "nginx" / "berth.conf").read_text()
    locations = dict(re.findall(r"location\s+(\S+)\s*\{[^}]*?proxy_pass\s+http://(\w+);", conf))

    assert locations["/v2/manage/"] == "berth_web"
    assert locations["/service/"] == "berth_web"
    assert locations["/"] == "berth_web"
    assert locations["/v2/"] == "berth_registry"
    assert "client_max_body_size 0;" in conf


# --- configuration documentation -----------------------------------------------------------------


def test_env_example_documents_every_variable_settings_read() -> None:
    source = (BASE_DIR / "registry_ui" / "settings.py").read_text()
    variables = set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    variables |= {"BERTH_ADMIN_PASSWORD", "BERTH_SEED_DEMO"}
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (BASE_DIR / ".env.example").read_text(), re.M)
    )

    assert variables, "found no env reads in settings.py"
    assert variables - documented == set()


def test_every_celery_queue_has_a_worker_in_make_run_and_in_compose() -> None:
    """Tasks routed to a queue no worker consumes would wait forever."""
    queues = {"celery"} | {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert queues == {"celery", "jobs"}
    run_berth = (BASE_DIR / "dashboard" / "management" / "commands" / "run_berth.py").read_text()
    assert set(re.findall(r'"--queues", "([\w,]+)"', run_berth)) == queues
    consumed = set()
    for service in _compose()["services"].values():
        command = service.get("command") or []
        if "worker" in command:
            consumed.update(command[command.index("--queues") + 1].split(","))
    assert consumed == queues
