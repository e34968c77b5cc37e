"""Fixtures that put Debian's nginx (deploy/nginx.conf.template) in front of the live test server, as in production:
Django decides, nginx sends scans (X-Accel-Redirect) and static files. Skipped, saying why, without nginx."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from bench.platform_server import free_port
from deploy.nginx import Nginx, nginx_binary
from deploy.probe import delivery_problems_after


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """Our static files and Papaya's build, collected once under their plain names (the admin's left out: speed)."""
    root = tmp_path_factory.mktemp("collected-static")
    from django.test import override_settings

    plain = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(
        STATIC_ROOT=root, STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}, **plain}
    ):
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin"])
    return root


@pytest.fixture
def nginx_site(live_server, settings, data_dir, collected_static, tmp_path) -> Nginx:
    """nginx on a free loopback port in front of the live server, PLATFORM_X_ACCEL on, checked by the start-up probe."""
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    settings.PLATFORM_X_ACCEL = True
    upstream = live_server.url.split("//", 1)[1]
    with Nginx(tmp_path / "nginx", free_port(), [upstream], collected_static, data_dir) as site:
        assert delivery_problems_after(site.url, 30) == []
        yield site
