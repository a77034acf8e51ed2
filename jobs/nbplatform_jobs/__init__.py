"""The nbplatform scheduler service: papermill notebook jobs run on the platform's side."""

__version__ = "0.1.0"
