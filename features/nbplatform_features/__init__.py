"""The nbplatform feature store: Feast on the platform's side, behind the platform service."""

__version__ = "0.1.0"
