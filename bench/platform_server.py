"""What the platform benchmarks share: a throwaway platform (data folder, SQLite or a throwaway PostgreSQL database,
imported study, invited readers) served by gunicorn on 127.0.0.1, and a tiny cookie-keeping HTTP client that talks
to it the way the reader's browser does.

Not a benchmark itself; `bench/volume_delivery.py` and `bench/load.py` use it.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
CI_POSTGRES = "postgres://medsyn:medsyn@127.0.0.1:5432/medsyn"
"""The server and role .ci/run sets up."""
ACCESS_LOG_FORMAT = "%(s)s %(m)s %(U)s %(M)s"
"""status, method, path, milliseconds: enough to count server errors per endpoint."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def platform_environment(data_dir: Path, port: int, database_url: str | None = None) -> dict[str, str]:
    """Production settings on plain HTTP for loopback, with their own data folder and database (SQLite by default)."""
    env = dict(os.environ)
    for name in ("PYTEST_VERSION", "DATABASE_URL", "DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_HTTPS": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PLATFORM_DATA_DIR": str(data_dir),
            "PLATFORM_BASE_URL": f"http://127.0.0.1:{port}",
            "DJANGO_LOG_LEVEL": "ERROR",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def manage(env: dict[str, str], *arguments: str) -> str:
    """Run `manage.py ARGUMENTS` with `env` and return its standard output; stop the benchmark if it fails."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"bench: manage.py {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def set_up_study(env: dict[str, str], bundle: Path, slug: str, readers: int) -> list[str]:
    """Migrate, import and open `bundle`, invite `readers` readers (manage.py invite_reader); their tokens."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "import_study", str(bundle), "--open")
    links = manage(env, "invite_reader", slug, "--count", str(readers)).split()
    return [link.rstrip("/").rsplit("/", 1)[1] for link in links]


@dataclass
class Gunicorn:
    """`gunicorn --chdir platform webapp.wsgi:application` on 127.0.0.1:`port`, logs in `logs`: sync workers (gunicorn
    alone, as before nginx), or with `threads` the deployment's gthread workers (deploy/gunicorn.conf.py)."""

    env: dict[str, str]
    port: int
    workers: int
    logs: Path
    threads: int = 0
    process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        self.logs.mkdir(parents=True, exist_ok=True)
        deployed = ["-c", str(GUNICORN_CONFIG), "--threads", str(self.threads)] if self.threads else []
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                *deployed,
                "--control-socket",
                str(self.logs / "gunicorn.ctl"),
                "--chdir",
                str(ROOT / "platform"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--backlog",
                "2048",
                "--timeout",
                "60",
                "--access-logfile",
                str(self.logs / "access.log"),
                "--access-logformat",
                ACCESS_LOG_FORMAT,
                "--error-logfile",
                str(self.logs / "error.log"),
                "webapp.wsgi:application",
            ],
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start; see {self.logs / 'error.log'}")
            if len(self.worker_pids()) == self.workers:
                try:
                    status, _, _ = Client(self.url).get("/r/not-a-token/")
                    if status == 404:
                        return self
                except OSError:
                    pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.logs / 'error.log'}")

    def __exit__(self, *exc) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for pid in self.worker_pids():
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The process ids of the master's current workers (read from /proc)."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def access_statuses(self) -> dict[str, int]:
        """How many requests the access log records per status code."""
        counts: dict[str, int] = {}
        path = self.logs / "access.log"
        if path.exists():
            for line in path.read_text().splitlines():
                status = line.split(" ", 1)[0]
                counts[status] = counts.get(status, 0) + 1
        return counts


@dataclass
class Client:
    """A browser-like HTTP client of one reader: keeps cookies, sends the CSRF token as the pages' scripts do."""

    base: str
    timeout: float = 60.0
    cookies: dict[str, str] = field(default_factory=dict)
    keep_alive: bool = False
    _connection: http.client.HTTPConnection | None = field(default=None, repr=False)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; (status, headers, body). With `keep_alive`, on the connection the last reply left open (as a
        browser does; gunicorn's sync workers close each one), and once more on a fresh connection when a reused one
        turns out closed before any reply came, as browsers retry; otherwise on a fresh connection."""
        reused = self._connection is not None
        try:
            return self._send(method, path, body, headers)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if not reused:
                raise
            return self._send(method, path, body, headers)

    def _send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(self.base)
        connection = self._connection or http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        self._connection = None
        sent = {"Accept-Encoding": "identity", "User-Agent": "bench"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        sent.update(headers or {})
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            connection.close()
            raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        if self.keep_alive and not response.will_close:
            self._connection = connection
        else:
            connection.close()
        return response.status, dict(response.headers), data

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.base, "Referer": self.base + path},
        )

    def post_json(self, path: str, payload: dict, csrf: str) -> tuple[int, dict[str, str], bytes]:
        """What autosave.js's fetch() sends: JSON body, X-CSRFToken header, same-origin cookies."""
        return self.request(
            "POST",
            path,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", "X-CSRFToken": csrf, "Origin": self.base},
        )


def form_csrf(page: bytes) -> str:
    """The csrfmiddlewaretoken of a page's form."""
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not found:
        raise ValueError("no CSRF token in the page")
    return found.group(1).decode()


def task_page_data(page: bytes) -> tuple[dict, str, list[str]]:
    """(task-data JSON, the CSRF token autosave.js posts with, the opaque names of the scans shown) of a task page."""
    task = re.search(rb'<script id="task-data" type="application/json">(.*?)</script>', page, re.S)
    csrf = re.search(rb'csrf: "([^"]+)"', page)
    if not task or not csrf:
        raise ValueError("not a task page")
    names = [html.unescape(n.decode()) for n in re.findall(rb'class="scan"[^>]*? data-url="[^"]*/([^"/]+)\.nii"', page)]
    return json.loads(task.group(1)), csrf.group(1).decode(), names


def start_reader(client: Client, token: str) -> tuple[int, bytes]:
    """Open the invitation, press 'Start the study' (welcome form with CSRF) and follow to the first task page."""
    status, _, page = client.get(f"/r/{token}/")
    if status != 200:
        raise RuntimeError(f"welcome page answered {status}")
    status, headers, _ = client.post_form(
        f"/r/{token}/start", {"csrfmiddlewaretoken": form_csrf(page), "years_experience": "", "level": ""}
    )
    if status != 302:
        raise RuntimeError(f"start answered {status}")
    location = urlsplit(headers["Location"]).path
    status, _, page = client.get(location)
    return status, page


def answer_payload(task: dict, names: list[str], variant: int, option: str = "Consolidation") -> dict:
    """A complete autosave of `task` as autosave.js sends it; `variant` makes a note/rank order unique."""
    if task["kind"] == "recognition":
        return {**task, "option": option, "note": f"bench note {variant}", "seconds": 0}
    order = names[variant % len(names) :] + names[: variant % len(names)]  # a rotation: a permutation of 1..k
    return {**task, "ranks": {name: rank for rank, name in enumerate(order, start=1)}, "seconds": 0}


def postgres_server(explicit: str | None) -> tuple[str | None, str]:
    """(URL of a reachable PostgreSQL server, how it was chosen) or (None, why not)."""
    candidates = (
        [explicit]
        if explicit
        else [
            url
            for url in (os.environ.get("DATABASE_URL"), os.environ.get("TEST_POSTGRES_URL"), CI_POSTGRES)
            if url and url.split(":", 1)[0] in ("postgres", "postgresql")
        ]
    )
    import psycopg

    problems = []
    for url in candidates:
        try:
            with psycopg.connect(with_database(url, "postgres"), connect_timeout=3):
                return url, url.split("@")[-1]
        except psycopg.Error as error:
            problems.append(f"{url.split('@')[-1]}: {str(error).strip().splitlines()[0]}")
    return None, "; ".join(problems) or "no PostgreSQL URL given"


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class ThrowawayDatabase:
    """CREATE DATABASE medsyn_bench_<random> on the server of `url`; DROP it (WITH FORCE) afterwards."""

    def __init__(self, url: str):
        self.url = url
        self.name = f"medsyn_bench_{secrets.token_hex(4)}"

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(with_database(self.url, "postgres"), autocommit=True) as connection:
            connection.execute(sql)

    def __enter__(self) -> str:
        self._execute(f'CREATE DATABASE "{self.name}"')
        return with_database(self.url, self.name)

    def __exit__(self, *exc) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
