"""Run the platform service: ``python -m nbplatform_hub.service``."""

from .app import main

main()
