"""Settings for the test suite: the production settings with a throwaway secret key, plain HTTP, and no collected
static files (plain names from the finders: a collection `make demo` left behind could be stale).

Only the defaults change (an environment that sets DJANGO_SECRET_KEY or DJANGO_HTTPS still wins), so the tests run the
same code paths as production.
"""

import os
import secrets
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_HTTPS", "false")
os.environ.setdefault("DJANGO_STATIC_ROOT", os.path.join(tempfile.gettempdir(), "medsyn-tests-no-staticfiles"))

from webapp.settings import *  # noqa: E402,F403
