"""``/nbplatform/api/models…``, ``promotions…``, ``audit``: the Models panel's calls."""

from __future__ import annotations

from .resource import ResourceHandler


class ModelsHandler(ResourceHandler):
    """Registered models, versions, lineage; rollback (admins)."""

    resource = "models"
    verbs = frozenset({"GET", "POST"})


class PromotionsHandler(ResourceHandler):
    """Promotion requests: list, request, approve, reject."""

    resource = "promotions"
    verbs = frozenset({"GET", "POST"})


class AuditHandler(ResourceHandler):
    """The audit log (platform admins)."""

    resource = "audit"
    verbs = frozenset({"GET"})


handlers: list[type[ResourceHandler]] = [ModelsHandler, PromotionsHandler, AuditHandler]
