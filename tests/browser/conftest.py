"""The browser test reuses the platform tests' bundle, data folder and study fixtures."""

from tests.platform.conftest import bundle, data_dir, study  # noqa: F401 - fixtures
