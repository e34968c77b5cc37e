"""Settings for the test suite: the production settings with a throwaway secret key and plain HTTP.

Only the defaults change (an environment that sets DJANGO_SECRET_KEY or DJANGO_HTTPS still wins), so the tests run the
same code paths as production.
"""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_HTTPS", "false")

from webapp.settings import *  # noqa: E402,F403
