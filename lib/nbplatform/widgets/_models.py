"""``nbp.widgets.models()``: pick a registered model and a version, as in the Models panel."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import quote

import traitlets

from ..client import PlatformClient
from ._base import Panel, field_table, heading, html_table, ipw, set_options, when

#: Models and versions read at most (pages of 100).
MAX_ITEMS = 1000


def _pages(client: PlatformClient, path: str, key: str, params: dict[str, Any]) -> tuple[Any, list]:
    """The first page of ``path``, and the ``key`` items of all pages (up to :data:`MAX_ITEMS`)."""
    params = {k: v for k, v in {"max_results": 100, **params}.items() if v}
    first = None
    items: list[Any] = []
    while True:
        page = client.request("GET", path, params=params)
        first = first if first is not None else page
        items += page.get(key) or []
        token = page.get("next_page_token")
        if not token or len(items) >= MAX_ITEMS:
            return first, items[:MAX_ITEMS]
        params["page_token"] = token


def model_aliases(model: Mapping[str, Any]) -> dict[str, str]:
    """The aliases of a registered model (MLflow's REST shape) as ``{alias: version}``."""
    aliases = model.get("aliases") or []
    if isinstance(aliases, Mapping):
        return {str(a): str(v) for a, v in aliases.items()}
    return {str(a["alias"]): str(a["version"]) for a in aliases if "alias" in a}


def _number(version: Mapping[str, Any]) -> int:
    try:
        return int(version.get("version", 0))
    except (TypeError, ValueError):
        return 0


def _metrics(version: Mapping[str, Any]) -> dict[str, Any]:
    metrics = version.get("metrics") or {}
    if isinstance(metrics, list):  # MLflow's [{key, value}]
        return {str(m.get("key")): m.get("value") for m in metrics}
    return dict(metrics)


class ModelPicker(Panel):
    """A model and version picker: aliases, metrics and params, and the model's URI.

    The same data as the Models panel of the sidebar (the platform's
    ``api/models`` and ``api/models/<name>``). ``value`` is ``(name, version)``
    of the chosen version (``None`` before there is one); observe it with
    ``picker.observe(callback, names="value")``.

    Args:
        name: The model to select first (default: the first by name).
        version: Its version to select first (default: the newest).
        filter_string: MLflow's filter of the models listed, e.g. ``"name LIKE 'churn%'"``.
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).
        load: Load now (default) or at the first :meth:`refresh`.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    title = "Models"
    value = traitlets.Tuple(None, allow_none=True, help="(name, version) chosen, or None.")

    def __init__(
        self,
        name: str | None = None,
        version: int | str | None = None,
        *,
        filter_string: str | None = None,
        client: PlatformClient | None = None,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self.filter_string = filter_string
        self._wanted = (name, None if version is None else str(version))
        #: The registered models listed, by name (MLflow's REST dicts).
        self.models: dict[str, dict[str, Any]] = {}
        #: The versions of the chosen model, by version (with the run's metrics and params).
        self.versions: dict[str, dict[str, Any]] = {}
        self.model_aliases: dict[str, str] = {}
        wide = ipw.Layout(width="min(100%, 32em)")
        self.models_dropdown = ipw.Dropdown(description="Model", options=[], layout=wide)
        self.versions_dropdown = ipw.Dropdown(description="Version", options=[], layout=wide)
        self.aliases = ipw.HTML()
        self.uri = ipw.HTML()
        self.details = ipw.HTML()
        self.models_dropdown.observe(self._act(self._show_model), names="value")
        self.versions_dropdown.observe(self._act(self._show_version), names="value")
        body = [self.models_dropdown, self.versions_dropdown, self.aliases, self.uri, self.details]
        super().__init__(body, client=client, load=load, **kwargs)

    @property
    def model_uri(self) -> str | None:
        """``models:/<name>/<version>`` of the chosen version, or ``None``."""
        return f"models:/{self.value[0]}/{self.value[1]}" if self.value else None

    def _load(self) -> None:
        _, found = _pages(
            self.client,
            "api/models",
            "registered_models",
            {"filter": self.filter_string, "order_by": "name ASC"},
        )
        self.models = {str(m["name"]): m for m in found}
        keep = self.models_dropdown.value or self._wanted[0]
        with self._quietly():
            set_options(self.models_dropdown, [(n, n) for n in self.models], keep)
        self._show_model()

    def _show_model(self) -> None:
        name = self.models_dropdown.value
        self.versions, self.model_aliases = {}, {}
        try:
            if name is not None:
                first, found = _pages(
                    self.client, f"api/models/{quote(name, safe='')}", "model_versions", {}
                )
                self.model_aliases = model_aliases(first.get("registered_model") or {})
                for v in sorted(found, key=_number, reverse=True):
                    self.versions[str(v["version"])] = v
        finally:  # a failure leaves no versions of another model behind
            self.aliases.value = self._aliases_html(name)
            wanted = self._wanted[1] if name == self._wanted[0] else None
            with self._quietly():
                set_options(
                    self.versions_dropdown,
                    [(self._label(v), k) for k, v in self.versions.items()],
                    self.versions_dropdown.value
                    if self.value and self.value[0] == name
                    else wanted,
                )
            self._show_version()

    def _label(self, version: Mapping[str, Any]) -> str:
        aliases = [f"@{a}" for a, v in self.model_aliases.items() if v == str(version["version"])]
        return " ".join([f"v{version['version']}", *sorted(aliases)])

    def _aliases_html(self, name: str | None) -> str:
        if name is None:
            return "<p>No registered models.</p>" if not self.models else ""
        if not self.model_aliases:
            return "<p>Aliases: none</p>"
        shown = ", ".join(
            f"<code>@{escape(a)}</code> → v{escape(v)}"
            for a, v in sorted(self.model_aliases.items())
        )
        return f"<p>Aliases: {shown}</p>"

    def _show_version(self) -> None:
        name, key = self.models_dropdown.value, self.versions_dropdown.value
        version = self.versions.get(key) if key is not None else None
        self.value = (name, key) if version is not None else None
        if version is None:
            self.uri.value = self.details.value = ""
            return
        uris = [f"models:/{name}/{key}"] + [
            f"models:/{name}@{a}" for a, v in sorted(self.model_aliases.items()) if v == key
        ]
        self.uri.value = "URI: " + " ".join(
            f'<code style="user-select:all;cursor:copy" title="Click to select">{escape(u)}</code>'
            for u in uris
        )
        self.details.value = self._details_html(version)

    def _details_html(self, version: Mapping[str, Any]) -> str:
        description = (self.models.get(str(version.get("name"))) or {}).get("description")
        fields = field_table(
            [
                ("status", version.get("status")),
                ("created", when(version.get("creation_timestamp"))),
                ("by", version.get("user_id")),
                ("run", version.get("run_id")),
                ("source", version.get("source")),
                ("description", version.get("description") or description),
            ]
        )
        metrics = sorted(_metrics(version).items())
        params = sorted((version.get("params") or {}).items())
        return (
            fields
            + heading("Metrics")
            + html_table(["metric", "value"], metrics)
            + heading("Params")
            + html_table(["param", "value"], params)
        )


def models(
    name: str | None = None,
    version: int | str | None = None,
    *,
    filter_string: str | None = None,
    client: PlatformClient | None = None,
) -> ModelPicker:
    """A model and version picker, as the sidebar's Models panel.

    Example:
        >>> picker = nbp.widgets.models()
        >>> picker                       # choose in the notebook
        >>> name, version = picker.value
        >>> model = nbp.registry.load_model(picker.model_uri)

    Args:
        name: The model to select first.
        version: The version to select first (default: the newest).
        filter_string: MLflow's filter of the models listed, e.g. ``"name LIKE 'churn%'"``.
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        The widget (an ``ipywidgets.VBox``); ``.value`` is ``(name, version)``.
    """
    return ModelPicker(name, version, filter_string=filter_string, client=client)
