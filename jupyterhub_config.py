"""JupyterHub configuration of nbplatform.

Every value comes from ``nbplatform_hub`` or from ``NBP_*`` environment variables
(see README.md); run the platform with ``make up`` or ``nbplatform up``.
"""

import sys
from pathlib import Path

from nbplatform.errors import NbplatformError
from nbplatform_hub.config import configure
from nbplatform_hub.settings import Settings

c = get_config()  # noqa: F821 (provided by JupyterHub)

try:
    configure(c, Settings.from_env(root=Path(__file__).resolve().parent))
except NbplatformError as error:
    print(f"nbplatform: {error.message}", file=sys.stderr)
    sys.exit(2)
