"""deploy/: the production nginx.conf that `python -m deploy.nginx render` writes (TLS at nginx, two app hosts)
is one nginx accepts, and the template refuses to render without an app host."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from deploy.nginx import NginxError, main, nginx_binary, render


def test_the_production_config_has_tls_a_redirect_and_both_app_hosts(tmp_path):
    certificate, key = _self_signed(tmp_path)
    out = tmp_path / "nginx.conf"
    main(["render", "--out", str(out), "--server-name", "reader.example.org", "--certificate", str(certificate),
          "--key", str(key), "--upstream", "10.0.0.2:8000", "--upstream", "10.0.0.3:8000", "--static-root",
          str(tmp_path / "static"), "--data-dir", str(tmp_path / "data"), "--prefix", str(tmp_path / "prefix"),
          "--logs", str(tmp_path)])  # fmt: skip
    text = out.read_text()
    assert "listen 443 ssl http2;" in text and "return 301 https://$host$request_uri;" in text
    assert "server 10.0.0.2:8000" in text and "server 10.0.0.3:8000" in text and "{{" not in text
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "prefix" / name).mkdir(parents=True)
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    tested = subprocess.run(
        [nginx_binary(), "-t", "-q", "-p", str(tmp_path / "prefix"), "-c", str(out), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stderr


def test_the_template_needs_an_app_host(tmp_path):
    with pytest.raises(NginxError, match="at least one upstream"):
        render(prefix=tmp_path, upstreams=[], listen="", static_root=tmp_path, data_dir=tmp_path)


def _self_signed(folder):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    certificate, key = folder / "site.crt", folder / "site.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=reader.example.org",
         "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key
