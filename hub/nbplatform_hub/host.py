"""What a capability may use of the platform: the host's public interface.

A capability (jobs; next features and drift) is a package that registers a
:class:`Capability` in the entry-point group ``nbplatform.capabilities`` and
imports the platform only from this module. Everything here is kept stable for
capabilities; everything else in :mod:`nbplatform_hub` is the host's own.

- **Plugging in**: :class:`Capability`, :func:`upgrade` (run an Alembic chain
  under the host's migration lock), :class:`ServiceContext` (what handlers see
  as ``self.context``; a capability's ``setup`` result is ``context.state[name]``).
- **Handlers**: :class:`JSONAPIHandler` (hub authentication, ``require_scope``,
  one strict JSON body reader ``read_json``/``read_body``, errors mapped to HTTP
  status in one place), :class:`AuditedAPIHandler` (writes are audited, allowed
  or refused), :func:`page_size` and :func:`page_token` (paging arguments),
  :func:`socket_client` (tornado's HTTP client to a server on a Unix socket),
  :func:`service_url` and :func:`decode_answer` (a capability asking another one's
  REST API over loopback, with the caller's token).
- **Notices**: :func:`deliver` (a signed webhook POST to a destination checked
  against internal networks, :class:`Allow` being ``NBP_WEBHOOK_ALLOW``),
  :func:`check_destination`, :func:`send_email` through :class:`Smtp` (``NBP_SMTP_*``).
- **Audit**: :func:`register_token_origin` (which job or run a token belongs
  to) and :func:`token_origin` (ask it), :func:`record_audit` and :class:`AuditEntry`.
- **Database**: :func:`connect`, :func:`database_url`, :func:`run_migrations`
  (the body of a capability's Alembic ``env.py``).
- **Scopes**: the names in :mod:`nbplatform_hub.roles` (``JOBS_READ`` ...).
- **Accounts and profiles**: :func:`ensure_system_user`, :func:`prepare_workspace`,
  :func:`read_as`, :func:`user_environment`, :class:`SystemUser` (isolation on
  one machine); :func:`load_platform_profiles`, :func:`choose_profile`,
  :class:`Profile`; :func:`discover_gpus`, :class:`GpuAllocator` over the
  machine's shared :func:`gpu_lease_file` (job runs take GPUs as servers do).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .gpus import JOB_PREFIX as GPU_JOB_PREFIX
from .gpus import GpuAllocator, GpuUnavailableError, discover_gpus
from .gpus import lease_file as gpu_lease_file
from .isolation import SystemUser, ensure_system_user, prepare_workspace, read_as, user_environment
from .profiles import Profile, choose_profile, load_platform_profiles
from .roles import (
    AUDIT_READ,
    DRIFT_ADMIN,
    DRIFT_READ,
    DRIFT_WRITE,
    FEATURES_ADMIN,
    FEATURES_READ,
    FEATURES_WRITE,
    JOBS_ADMIN,
    JOBS_READ,
    JOBS_WRITE,
    MODELS_APPROVE,
    MODELS_READ,
    MODELS_WRITE,
)
from .service.capabilities import Capability, upgrade
from .service.db import connect, current_revision, database_url, run_migrations
from .service.paging import page_size, page_token

if TYPE_CHECKING:
    from .service.app import ServiceContext
    from .service.audit import AuditEntry, register_token_origin, token_origin
    from .service.audit import record as record_audit
    from .service.audited import AuditedAPIHandler
    from .service.base import JSONAPIHandler
    from .service.json_input import parse_json, parse_json_object
    from .service.loopback import decode as decode_answer
    from .service.loopback import service_url
    from .service.mlflow_transport import client as socket_client
    from .service.notices import Allow, Smtp, check_destination, deliver, send_email

#: Loaded on first use (they import tornado and JupyterHub), so that a job's
#: executor, which needs only accounts and profiles, stays light.
_LAZY = {
    "ServiceContext": ("service.app", "ServiceContext"),
    "AuditEntry": ("service.audit", "AuditEntry"),
    "register_token_origin": ("service.audit", "register_token_origin"),
    "token_origin": ("service.audit", "token_origin"),
    "socket_client": ("service.mlflow_transport", "client"),
    "service_url": ("service.loopback", "service_url"),
    "decode_answer": ("service.loopback", "decode"),
    "record_audit": ("service.audit", "record"),
    "AuditedAPIHandler": ("service.audited", "AuditedAPIHandler"),
    "JSONAPIHandler": ("service.base", "JSONAPIHandler"),
    "parse_json": ("service.json_input", "parse_json"),
    "parse_json_object": ("service.json_input", "parse_json_object"),
    "Allow": ("service.notices", "Allow"),
    "Smtp": ("service.notices", "Smtp"),
    "check_destination": ("service.notices", "check_destination"),
    "deliver": ("service.notices", "deliver"),
    "send_email": ("service.notices", "send_email"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
    globals()[name] = value
    return value


__all__ = [
    "AUDIT_READ",
    "DRIFT_ADMIN",
    "DRIFT_READ",
    "DRIFT_WRITE",
    "FEATURES_ADMIN",
    "FEATURES_READ",
    "FEATURES_WRITE",
    "JOBS_ADMIN",
    "JOBS_READ",
    "JOBS_WRITE",
    "MODELS_APPROVE",
    "MODELS_READ",
    "MODELS_WRITE",
    "Allow",
    "AuditEntry",
    "AuditedAPIHandler",
    "Capability",
    "JSONAPIHandler",
    "Profile",
    "ServiceContext",
    "Smtp",
    "SystemUser",
    "check_destination",
    "choose_profile",
    "connect",
    "current_revision",
    "database_url",
    "decode_answer",
    "deliver",
    "discover_gpus",
    "GpuAllocator",
    "GpuUnavailableError",
    "gpu_lease_file",
    "GPU_JOB_PREFIX",
    "ensure_system_user",
    "load_platform_profiles",
    "page_size",
    "page_token",
    "parse_json",
    "parse_json_object",
    "prepare_workspace",
    "read_as",
    "service_url",
    "record_audit",
    "run_migrations",
    "send_email",
    "register_token_origin",
    "socket_client",
    "token_origin",
    "upgrade",
    "user_environment",
]
