"""nginx in front of the platform: deploy/nginx.conf.template filled in, and an unprivileged nginx run from it.

`python -m deploy.nginx render --out FILE ...` writes the configuration an IT team installs (README, "Deploying");
`Nginx` runs one on loopback for the tests and `python -m bench load`, with pid, temporary files and logs under one
prefix folder, so it needs neither root nor /etc.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
TEMPLATE = DEPLOY_DIR / "nginx.conf.template"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
UNAVAILABLE_PAGE = DEPLOY_DIR.parent / "platform" / "surveys" / "templates" / "surveys" / "unavailable.html"
"""Plain HTML, shown by nginx when no app host answers and by Django when the database does not."""
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class NginxError(RuntimeError):
    """nginx is missing, refused its configuration, or did not start."""


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which a user's PATH may lack), or None when it is not installed."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def plain_listen(host: str, port: int) -> str:
    """The listen lines of a plain-HTTP server (loopback: tests, bench)."""
    return f"        listen {host}:{port};\n        server_name _;"


def tls_listen(server_name: str, certificate: Path, key: Path) -> str:
    """The listen lines of the HTTPS server: TLS 1.2+, HTTP/2, HSTS set by Django (SECURE_HSTS_SECONDS)."""
    return "\n".join(
        f"        {line}"
        for line in (
            "listen 443 ssl http2;",
            "listen [::]:443 ssl http2;",
            f"server_name {server_name};",
            f"ssl_certificate {certificate};",
            f"ssl_certificate_key {key};",
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "ssl_prefer_server_ciphers off;",
            "ssl_session_cache shared:TLS:10m;",
            "ssl_session_timeout 1d;",
        )
    )


def http_redirect(server_name: str) -> str:
    """A port-80 server that sends every request to HTTPS."""
    return (
        "    server {\n        listen 80;\n        listen [::]:80;\n"
        f"        server_name {server_name};\n        return 301 https://$host$request_uri;\n    }}\n"
    )


def render(
    *,
    prefix: Path,
    upstreams: list[str],
    listen: str,
    static_root: Path,
    data_dir: Path,
    logs: Path | None = None,
    user: str | None = None,
    worker_processes: int | str = "auto",
    servers: str = "",
) -> str:
    """deploy/nginx.conf.template with every placeholder filled; `upstreams` are gunicorn's host:port addresses."""
    if not upstreams:
        raise NginxError("nginx needs at least one upstream app server (host:port)")
    values = {
        "prefix": str(prefix),
        "logs": str(logs or prefix),
        "user": f"user {user};\n" if user else "",
        "worker_processes": str(worker_processes),
        "upstream": "\n".join(f"        server {address} max_fails=0;" for address in upstreams),
        "listen": listen,
        "servers": servers,
        "static_root": str(Path(static_root).resolve()),
        "data_dir": str(Path(data_dir).resolve()),
        "deploy_dir": str(DEPLOY_DIR),
        "unavailable_page": str(UNAVAILABLE_PAGE),
    }
    missing = sorted(set(_PLACEHOLDER.findall(TEMPLATE.read_text())) - set(values))
    if missing:
        raise NginxError(f"{TEMPLATE}: no value for placeholder(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda found: values[found.group(1)], TEMPLATE.read_text())


@dataclass
class Nginx:
    """An unprivileged nginx on `host:port` in front of `upstreams`, everything it writes under `prefix`."""

    prefix: Path
    port: int
    upstreams: list[str]
    static_root: Path
    data_dir: Path
    host: str = "127.0.0.1"
    worker_processes: int = 1
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> Path:
        return self.prefix / "nginx.conf"

    def write_config(self) -> None:
        """Render the configuration into the prefix folder (with its temporary folders)."""
        for name in TEMP_FOLDERS:
            (self.prefix / name).mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            render(
                prefix=self.prefix,
                upstreams=self.upstreams,
                listen=plain_listen(self.host, self.port),
                static_root=self.static_root,
                data_dir=self.data_dir,
                user="root" if os.geteuid() == 0 else None,  # workers as root read the runner's private folders
                worker_processes=self.worker_processes,
            )
        )

    def _command(self, *extra: str) -> list[str]:
        binary = nginx_binary()
        if binary is None:
            raise NginxError("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
        return [
            binary,
            "-p",
            str(self.prefix),
            "-c",
            str(self.config),
            "-e",
            str(self.prefix / "nginx-error.log"),
            *extra,
        ]

    def __enter__(self) -> "Nginx":
        self.write_config()
        tested = subprocess.run(self._command("-t", "-q"), capture_output=True, text=True)
        if tested.returncode:
            raise NginxError(f"nginx refused {self.config}: {tested.stderr.strip()}")
        self.process = subprocess.Popen(
            self._command("-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NginxError(f"nginx exited at start: {self.process.stderr.read().decode().strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.02)
        self.__exit__()
        raise NginxError(f"nginx did not listen on {self.host}:{self.port} within 20 s")

    def reload(self) -> None:
        """Re-read the configuration (SIGHUP): new workers start, old ones finish the requests they are serving."""
        self.write_config()
        self.process.send_signal(signal.SIGHUP)

    def __exit__(self, *exc) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(
            signal.SIGTERM
        )  # fast shutdown: a browser's idle connections would hold a graceful one
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main(argv: list[str] | None = None) -> None:
    """`render`: write a production nginx.conf (TLS at nginx, the app hosts as upstreams)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.nginx", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("render", help="write nginx.conf for a deployment (TLS on 443, port 80 redirects)")
    out.add_argument("--out", type=Path, required=True, help="file to write (e.g. /etc/nginx/nginx.conf)")
    out.add_argument("--server-name", required=True, help="the site's host name, e.g. reader.example.org")
    out.add_argument("--certificate", type=Path, required=True, help="TLS certificate chain (PEM)")
    out.add_argument("--key", type=Path, required=True, help="TLS private key (PEM)")
    out.add_argument(
        "--upstream", action="append", required=True, help="an app host's gunicorn address host:port (repeatable)"
    )
    out.add_argument("--static-root", type=Path, required=True, help="DJANGO_STATIC_ROOT (after collectstatic)")
    out.add_argument("--data-dir", type=Path, required=True, help="PLATFORM_DATA_DIR (the shared bundle store)")
    out.add_argument(
        "--prefix",
        type=Path,
        default=Path("/var/lib/medsyn-nginx"),
        help="pid and temporary files (default: %(default)s)",
    )
    out.add_argument("--logs", type=Path, default=Path("/var/log/nginx"), help="log folder (default: %(default)s)")
    out.add_argument("--user", default="www-data", help="user of nginx's workers (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        text = render(
            prefix=args.prefix,
            upstreams=args.upstream,
            listen=tls_listen(args.server_name, args.certificate, args.key),
            static_root=args.static_root,
            data_dir=args.data_dir,
            logs=args.logs,
            user=args.user,
            servers=http_redirect(args.server_name),
        )
    except NginxError as error:
        sys.exit(f"deploy.nginx: {error}")
    args.out.write_text(text)
    print(f"wrote {args.out}; check it with: nginx -t -c {args.out}")


if __name__ == "__main__":
    main()
