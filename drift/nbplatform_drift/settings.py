"""Settings of drift monitoring, read once from ``NBP_DRIFT_*`` variables.

- ``NBP_DRIFT_MAX_REPORT_BYTES``: the largest Evidently HTML report a check may
  carry (default 64 MiB); a check's body may be that much larger than the 1 MiB
  of other resources.

Reports are files under ``NBP_HOME/drift/reports`` (``<check id>.html``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nbplatform.errors import ConfigurationError

#: The largest report a check may carry (bytes, UTF-8).
DEFAULT_MAX_REPORT_BYTES = 64 << 20
#: What a check's body may hold besides its report (columns, importance...).
CHECK_OVERHEAD_BYTES = 8 << 20


@dataclass(frozen=True)
class DriftSettings:
    """Where drift monitoring keeps its files, and its limits.

    Attributes:
        home: ``NBP_HOME``.
        max_report_bytes: ``NBP_DRIFT_MAX_REPORT_BYTES``.
        platform_url: ``NBP_PLATFORM_URL``: the service's URL, for links in notices.
    """

    home: Path
    max_report_bytes: int = DEFAULT_MAX_REPORT_BYTES
    platform_url: str = "/services/platform/"

    @property
    def reports_dir(self) -> Path:
        """``NBP_HOME/drift/reports``."""
        return self.home / "drift" / "reports"

    @property
    def max_check_bytes(self) -> int:
        """The largest body ``POST .../checks`` reads: a report and the rest of the check.

        JSON escapes quotes and newlines of the report, so the body may be up to
        twice the report's size.
        """
        return 2 * self.max_report_bytes + CHECK_OVERHEAD_BYTES

    @classmethod
    def from_env(cls, home: Path, env: Mapping[str, str] | None = None) -> DriftSettings:
        """Read the settings from ``env`` (default: the process environment).

        Raises:
            ConfigurationError: ``NBP_DRIFT_MAX_REPORT_BYTES`` is not a positive number.
        """
        env = os.environ if env is None else env
        raw = env.get("NBP_DRIFT_MAX_REPORT_BYTES", "").strip()
        if raw and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ConfigurationError(
                f"NBP_DRIFT_MAX_REPORT_BYTES={raw[:40]!r} is not a positive number of bytes."
            )
        url = (env.get("NBP_PLATFORM_URL") or "").strip() or "/services/platform/"
        return cls(
            home=Path(home),
            max_report_bytes=int(raw) if raw else DEFAULT_MAX_REPORT_BYTES,
            platform_url=url if url.endswith("/") else url + "/",
        )
