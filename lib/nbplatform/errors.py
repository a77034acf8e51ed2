"""Errors raised by nbplatform.

Every error the platform raises derives from :class:`NbplatformError` and carries
a message that tells the user what to do next, plus a short machine-readable
``error_code`` in the style of MLflow's exceptions.
"""

from __future__ import annotations


class NbplatformError(Exception):
    """Base class of every nbplatform error.

    Args:
        message: What went wrong and what to do about it, in one or two sentences.
        error_code: A short upper-case code (``INVALID_PARAMETER_VALUE``...).
    """

    error_code = "INTERNAL_ERROR"
    http_status = 500

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code


class ConfigurationError(NbplatformError):
    """The platform or library is configured wrongly (a file, a variable)."""

    error_code = "INVALID_CONFIGURATION"
    http_status = 400


class InvalidParameterError(NbplatformError):
    """A value given by the caller is not acceptable."""

    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class PermissionDeniedError(NbplatformError):
    """The caller is authenticated but not allowed to do this."""

    error_code = "PERMISSION_DENIED"
    http_status = 403


class UnauthenticatedError(NbplatformError):
    """No valid hub token was presented."""

    error_code = "UNAUTHENTICATED"
    http_status = 401


class NotFoundError(NbplatformError):
    """The named resource does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class ConflictError(NbplatformError):
    """The request conflicts with the current state (already exists, lost a race)."""

    error_code = "RESOURCE_CONFLICT"
    http_status = 409


class UnavailableError(NbplatformError):
    """A resource exists but cannot be had right now (no free GPU, service down)."""

    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503
