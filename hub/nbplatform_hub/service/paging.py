"""Paging arguments of list resources: ``max_results`` and ``page_token``.

Every list resource of the platform (the host's and each capability's) reads its
page size here, so that one number is refused the same way everywhere.
"""

from __future__ import annotations

from typing import Any

from nbplatform.errors import InvalidParameterError

#: The largest page any list resource returns.
MAX_PAGE = 1000
#: The longest ``page_token`` accepted (tokens the service hands out are far shorter).
MAX_TOKEN_LENGTH = 256


def page_size(handler: Any, default: int = 100, maximum: int = MAX_PAGE) -> int:
    """The ``max_results`` query argument of ``handler``'s request.

    Args:
        handler: A tornado request handler.
        default: When the argument is absent.
        maximum: The largest page this resource returns.

    Raises:
        InvalidParameterError: Not a whole number between 1 and ``maximum``.
    """
    raw = handler.get_query_argument("max_results", str(default))
    if not (raw.isascii() and raw.strip().isdigit()) or len(raw) > 8:
        raise InvalidParameterError(
            f"max_results: {raw[:40]!r} is not a whole number between 1 and {maximum}."
        )
    value = int(raw)
    if not 1 <= value <= maximum:
        raise InvalidParameterError(f"max_results: must be between 1 and {maximum}.")
    return value


def page_token(handler: Any) -> str | None:
    """The ``page_token`` query argument (``None`` when absent or empty).

    Raises:
        InvalidParameterError: Longer than any token the service hands out.
    """
    token = handler.get_query_argument("page_token", None) or None
    if token is not None and len(token) > MAX_TOKEN_LENGTH:
        raise InvalidParameterError("page_token: not a token from a previous page.")
    return token
