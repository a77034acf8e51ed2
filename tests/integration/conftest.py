"""The browser fixtures (:mod:`browser_fixtures`) for integration tests that drive JupyterLab."""

from browser_fixtures import browser, page  # noqa: F401
