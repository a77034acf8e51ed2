"""Notices to people: webhooks (destinations checked, bodies signed) and e-mail.

A data scientist names a webhook (a job's ``webhook_url``, a drift monitor's
``webhooks``); the platform POSTs to it. So that this cannot make the platform
call internal services (the hub API, the platform
service, anything on loopback or a private network), a destination whose address
is loopback, link-local, private, multicast, reserved or unspecified is refused,
unless an admin allowed it with ``NBP_WEBHOOK_ALLOW`` (addresses, networks or
host names, comma-separated). The check runs when the destination is saved (so the
owner hears at once) and again on every delivery, on the very address the platform
then connects to: a name that resolves elsewhere later (DNS rebinding) gains
nothing, and redirects are not followed.

Each body is signed with the job's own secret, as GitHub signs its webhooks:
``X-Nbp-Signature-256: sha256=<HMAC-SHA256 of the body, hex>``.

E-mail goes through the SMTP server of ``NBP_SMTP_*`` (:class:`Smtp`), when one is set.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import smtplib
import socket
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from nbplatform.errors import InvalidParameterError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

log = logging.getLogger("nbplatform.notices")


@dataclass(frozen=True)
class Allow:
    """What ``NBP_WEBHOOK_ALLOW`` lets through although it is internal."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: str | None) -> Allow:
        """Read ``NBP_WEBHOOK_ALLOW``: ``127.0.0.1, 10.0.0.0/8, hooks.internal``."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for item in (raw or "").split(","):
            item = item.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def admits(self, host: str, address: Address) -> bool:
        """Whether ``address`` (of ``host``) was allowed by an admin."""
        return host in self.hosts or any(address in net for net in self.networks)


def _internal(address: Address) -> str | None:
    """Why ``address`` is internal (``loopback``, ``private``...), or ``None``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def split(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path with query)`` of a webhook URL.

    Raises:
        InvalidParameterError: Not an http(s) URL with a host, or with credentials.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InvalidParameterError(f"webhook_url: {url[:200]!r} is not a URL ({e}).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError("webhook_url: must be an http:// or https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidParameterError(
            "webhook_url: must not hold credentials; the platform signs each notice instead "
            "(X-Nbp-Signature-256)."
        )
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidParameterError("webhook_url: must not contain spaces or control characters.")
    default = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname.rstrip("."), port or default, path


def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_destination(url: str, allow: Allow, *, resolve_required: bool = True) -> list[Address]:
    """Return the addresses ``url`` may be delivered to, refusing internal ones.

    Args:
        url: The webhook URL.
        allow: ``NBP_WEBHOOK_ALLOW``.
        resolve_required: Whether a host that does not resolve is an error (on
            delivery) or passes for now (when the job is saved: it is checked
            again on delivery).

    Raises:
        InvalidParameterError: Naming the address and why it is refused.
    """
    _, host, port, _ = split(url)
    try:
        addresses = _addresses(host, port)
    except OSError as e:
        if resolve_required:
            raise InvalidParameterError(f"webhook_url: {host} does not resolve ({e}).") from None
        return []
    for address in addresses:
        why = _internal(address)
        if why is not None and not allow.admits(host.lower(), address):
            raise InvalidParameterError(
                f"webhook_url: {host} is {address}, a {why} address, which the platform "
                "does not call; an admin can allow it with NBP_WEBHOOK_ALLOW."
            )
    return addresses


def sign(secret: str, body: bytes) -> str:
    """The ``X-Nbp-Signature-256`` header of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _connection(scheme: str, host: str, address: Address, port: int, timeout: float) -> Any:
    """An HTTP(S) connection to exactly ``address``, speaking to ``host`` (Host, SNI, cert)."""
    target = str(address)

    class Pinned(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.create_connection((target, port), timeout)

    class PinnedTLS(http.client.HTTPSConnection):
        def connect(self) -> None:
            sock = socket.create_connection((target, port), timeout)
            self.sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)

    kind = PinnedTLS if scheme == "https" else Pinned
    return kind(host, port, timeout=timeout)


def deliver(
    url: str,
    body: bytes,
    secret: str | None,
    event: str,
    allow: Allow,
    timeout: float = 10,
    agent: str = "nbplatform-jobs",
) -> int:
    """POST ``body`` to ``url`` (checked again, pinned to the checked address); the status.

    Raises:
        InvalidParameterError: The destination is (now) internal or does not resolve.
        OSError: The connection failed.
    """
    scheme, host, port, path = split(url)
    addresses = check_destination(url, allow)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": agent,
        "X-Nbp-Event": event,
        "X-Nbp-Delivery": uuid.uuid4().hex,
    }
    if secret:
        headers["X-Nbp-Signature-256"] = sign(secret, body)
    connection = _connection(scheme, host, addresses[0], port, timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        return connection.getresponse().status  # a redirect is an answer, not followed
    finally:
        connection.close()


@dataclass(frozen=True)
class Smtp:
    """The SMTP server e-mail notices go through (``NBP_SMTP_*``); none when ``host`` is unset.

    Attributes:
        host: ``NBP_SMTP_HOST``: e-mail is sent only when set.
        port: ``NBP_SMTP_PORT`` (default 25).
        sender: ``NBP_SMTP_FROM``.
        user: ``NBP_SMTP_USER`` (then STARTTLS and login).
        password: ``NBP_SMTP_PASSWORD``.
    """

    host: str | None = None
    port: int = 25
    sender: str = "nbplatform@localhost"
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Smtp:
        """Read ``NBP_SMTP_*``; a port that is not a number is the default."""
        raw = (env.get("NBP_SMTP_PORT") or "").strip()
        return cls(
            host=env.get("NBP_SMTP_HOST") or None,
            port=int(raw) if raw.isdigit() and 0 < int(raw) < 65536 else 25,
            sender=env.get("NBP_SMTP_FROM") or "nbplatform@localhost",
            user=env.get("NBP_SMTP_USER") or None,
            password=env.get("NBP_SMTP_PASSWORD") or None,
        )


def send_email(smtp: Smtp, to: str, subject: str, text: str) -> bool:
    """Send one plain-text e-mail through ``smtp``; errors are logged, never raised.

    Returns:
        Whether the server accepted it (``False`` also when no server is set).
    """
    if not smtp.host:
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = smtp.sender
    message["To"] = to
    message.set_content(text)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=20) as server:
            if smtp.user:
                server.starttls()
                server.login(smtp.user, smtp.password or "")
            server.send_message(message)
    except Exception as e:  # noqa: BLE001
        log.warning("e-mail to %s failed: %s", to, e)
        return False
    return True
