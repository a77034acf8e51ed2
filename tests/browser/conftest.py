"""Fixtures of the browser tests (:mod:`browser_fixtures`)."""

from browser_fixtures import browser, page  # noqa: F401
