"""Drift's settings from ``NBP_DRIFT_*``."""

from __future__ import annotations

import pytest

from nbplatform.errors import ConfigurationError
from nbplatform_drift.settings import DEFAULT_MAX_REPORT_BYTES, DriftSettings


def test_defaults_and_overrides(tmp_path):
    settings = DriftSettings.from_env(tmp_path, {})
    assert settings.max_report_bytes == DEFAULT_MAX_REPORT_BYTES == 64 << 20
    assert settings.reports_dir == tmp_path / "drift" / "reports"
    assert settings.max_check_bytes > 2 * settings.max_report_bytes
    env = {"NBP_DRIFT_MAX_REPORT_BYTES": "1000", "NBP_PLATFORM_URL": "http://h:1/services/p"}
    settings = DriftSettings.from_env(tmp_path, env)
    assert settings.max_report_bytes == 1000
    assert settings.platform_url == "http://h:1/services/p/"


@pytest.mark.parametrize("raw", ["-1", "0", "lots", "1e6"])
def test_a_limit_that_is_no_number_of_bytes_is_refused(tmp_path, raw):
    with pytest.raises(ConfigurationError, match="NBP_DRIFT_MAX_REPORT_BYTES"):
        DriftSettings.from_env(tmp_path, {"NBP_DRIFT_MAX_REPORT_BYTES": raw})
