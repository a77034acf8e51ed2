"""Strict JSON request bodies and clean query arguments for every REST resource.

:func:`parse_json` accepts one JSON document and nothing ambiguous: no duplicate
keys (a gateway and its backend would read different values), no ``NaN`` or
``Infinity``, no lone surrogates or NUL in strings, nesting at most
:data:`MAX_JSON_DEPTH` deep, at most :data:`MAX_BODY_BYTES` bytes.
:func:`check_argument` refuses query arguments and path parameters that tornado
would change silently (control characters) or that are too long. Each refusal
is a :class:`BodyError` (400) that says what was wrong and where.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nbplatform.errors import InvalidParameterError

#: The largest request body a REST resource accepts (the MLflow gateway streams its own).
MAX_BODY_BYTES = 1 << 20
#: How deep arrays and objects may nest in a request body.
MAX_JSON_DEPTH = 32
#: The longest query argument or path parameter a handler is given (characters).
MAX_ARGUMENT_LENGTH = 4096
#: Characters tornado would silently turn into spaces in a query argument; refused.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
#: A lone surrogate: JSON can escape one (``\\ud800``), UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyError(InvalidParameterError):
    """The request body is refused before any handler looks at it (size, type, syntax)."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BodyError(f"body: the key {key[:100]!r} appears twice; send each key once.")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise BodyError(f"body: {name} is not JSON; send numbers as finite decimals.")


def _depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def text_problem(text: str) -> str | None:
    r"""What makes ``text`` unfit to store or pass on, or ``None``.

    A NUL character (no database text column or C string holds one) and a lone
    surrogate (``\ud800`` escaped in JSON: not a character, and not encodable
    as UTF-8) are refused wherever they appear.
    """
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    surrogate = _SURROGATE.search(text)
    if surrogate:
        return f"contains a lone surrogate (\\u{ord(surrogate.group()):04x}), which is not text"
    return None


def check_argument(name: str, value: bytes | str) -> str:
    """A query argument or path parameter as text, if a resource may be given it.

    Args:
        name: The argument's name, for the message.
        value: Percent-decoded: bytes (to be UTF-8) or text.

    Returns:
        The text.

    Raises:
        InvalidParameterError: Not UTF-8 (a lone surrogate's ``%ED%A0%80``
            included), longer than :data:`MAX_ARGUMENT_LENGTH`, or holding a
            control character (tornado would silently turn it into a space).
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterError(
                f"{name}: not UTF-8 (a lone surrogate?); send valid Unicode, percent-encoded."
            ) from None
    if len(value) > MAX_ARGUMENT_LENGTH:
        raise InvalidParameterError(
            f"{name}: longer than {MAX_ARGUMENT_LENGTH} characters; send less."
        )
    if _SURROGATE.search(value):  # bytes decoded with errors="surrogateescape"
        raise InvalidParameterError(
            f"{name}: not UTF-8 (a lone surrogate?); send valid Unicode, percent-encoded."
        )
    if _CONTROL.search(value):
        raise InvalidParameterError(f"{name}: contains a control character (NUL...).")
    return value


def _check_text(value: Any) -> None:
    """Refuse a NUL or a lone surrogate in any key or string of ``value``, naming where."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            items: Any = ()
            problem = text_problem(node)
            if problem:
                raise BodyError(f"{where or 'body'}: {problem}; send valid Unicode text.")
        elif isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, child in items:
            name = f"{where}.{key}" if where else str(key)
            if isinstance(key, str):
                problem = text_problem(key)
                if problem:
                    shown = repr(key[:40])
                    raise BodyError(
                        f"{where or 'body'}: the key {shown} {problem}; send valid Unicode text."
                    )
            stack.append((child, name))


def parse_json(raw: bytes, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a request body as strict JSON: UTF-8, no duplicate keys, no ``NaN``, bounded.

    The one reader of JSON request bodies, for the REST resources
    (:func:`parse_json_object`) and the MLflow gateway alike.

    Args:
        raw: The body as received (not empty).
        max_bytes: The largest body accepted.
        max_depth: How deep arrays and objects may nest.

    Returns:
        The value.

    Raises:
        BodyError: Too large, not UTF-8, not JSON, a duplicate key, ``NaN``,
            nested too deeply, or a key or string holding a NUL or a lone
            surrogate (the message names where, e.g. ``parameters.name``).
    """
    if len(raw) > max_bytes:
        raise BodyError(f"body: larger than {max_bytes} bytes; send less.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("body: not UTF-8 text; send JSON encoded as UTF-8.") from None
    try:
        value = json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except RecursionError:
        raise BodyError(f"body: nested more than {max_depth} levels deep.") from None
    except ValueError as e:
        if isinstance(e, BodyError):
            raise
        detail = f" ({e.msg} at position {e.pos})" if isinstance(e, json.JSONDecodeError) else ""
        raise BodyError(f"body: not valid JSON{detail}.") from None
    if _depth(value) > max_depth:
        raise BodyError(f"body: nested more than {max_depth} levels deep.")
    _check_text(value)
    return value


def parse_json_object(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """Parse a request body as one strict JSON object (an empty body is ``{}``).

    Args:
        raw: The body as received.
        max_depth: How deep arrays and objects may nest.

    Returns:
        The object.

    Raises:
        BodyError: As :func:`parse_json`, or not an object (e.g. a JSON string
            holding an encoded object).
    """
    if not raw.strip():
        return {}
    value = parse_json(raw, max_depth=max_depth)
    if not isinstance(value, dict):
        hint = " (a JSON string: was the object encoded twice?)" if isinstance(value, str) else ""
        raise BodyError(f"body: must be a JSON object, not {type(value).__name__}{hint}.")
    return value
