"""Static files under hashed names once collected, under their plain names before (make demo, the tests)."""

from __future__ import annotations

from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """collectstatic writes every file under a content-hashed name with gzip and brotli copies (nginx or WhiteNoise
    serve them with year-long cache headers); a site that has not collected yet links the plain names, which WhiteNoise
    serves through the finders, instead of failing every page on the missing manifest."""

    def url(self, name: str | None, force: bool = False) -> str:
        if not self.hashed_files:
            return StaticFilesStorage.url(self, name)
        return super().url(name, force)
