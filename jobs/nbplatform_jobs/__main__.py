"""Run the scheduler service: ``python -m nbplatform_jobs``."""

from .service import main

main()
