"""Models in MLflow's style: log, register, find, load, compare, replay, ask for promotion.

In a platform kernel everything goes through the platform's authenticated MLflow
gateway with no configuration (the kernel preload sets ``MLFLOW_TRACKING_URI``
and ``MLFLOW_TRACKING_TOKEN``); on a laptop, ``NBP_PLATFORM_URL`` and
``NBP_TOKEN`` are enough. MLflow, scikit-learn and torch are imported on first
use, never when ``nbplatform`` is imported; they come with
``pip install 'nbplatform[ml]'``.

Example:
    >>> info = nbp.registry.log_model(clf, "churn", X_example=X[:5], metrics={"auc": 0.91})
    >>> nbp.registry.request_promotion("churn", version=info.registered_model_version)
    >>> model = nbp.registry.load_model("models:/churn@champion")
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from . import config as _config
from ._extras import require
from .client import PlatformClient
from .display import ModelList
from .errors import InvalidParameterError, NotFoundError

DEFAULT_ALIAS = "champion"


def _mlflow() -> Any:
    """Import MLflow, pointing it at the platform's gateway unless told otherwise."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        cfg = _config.load()
        for name, value in _config.mlflow_environment(cfg.platform_url, cfg.token).items():
            os.environ.setdefault(name, value)
    return require("mlflow", "ml", "nbp.registry", "MLflow")


def _client() -> Any:
    return _mlflow().MlflowClient()


def _flavor(model: Any) -> str:
    """Return ``sklearn`` or ``pytorch`` for a supported model.

    Raises:
        InvalidParameterError: Any other kind of model.
    """
    if "torch" in sys.modules:
        import torch

        if isinstance(model, torch.nn.Module):
            return "pytorch"
    module = type(model).__module__
    if module.startswith("sklearn.") or hasattr(model, "fit") and hasattr(model, "predict"):
        return "sklearn"
    raise InvalidParameterError(
        f"log_model takes scikit-learn estimators and torch modules, not {type(model).__name__}; "
        "for other models use the matching mlflow.<flavor>.log_model."
    )


def _as_numpy(data: Any) -> Any:
    np = require("numpy", "ml", "nbp.registry", "NumPy")

    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    if "torch" in sys.modules:
        import torch

        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
    return np.asarray(data)


def _predict(model: Any, flavor: str, X: Any) -> Any:
    if flavor == "pytorch":
        import torch

        model.eval()
        with torch.no_grad():
            parameter = next(model.parameters(), None)
            tensor = torch.as_tensor(
                _as_numpy(X), dtype=parameter.dtype if parameter is not None else None
            )
            return model(tensor).cpu().numpy()
    return model.predict(X)


def _skops_types(model: Any) -> list[str] | None:
    """The types skops would not load of ``model`` (a forest's ``Tree``...), to trust.

    MLflow saves scikit-learn models with skops, which loads only the types it
    trusts; the types a model you trained yourself is made of are declared
    trusted for it (kept in its ``MLmodel``), so that it loads again.
    """
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(model)) or None


def log_model(
    model: Any,
    name: str,
    X_example: Any = None,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    register: bool = True,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    explain: bool = False,
    X_explain: Any = None,
) -> Any:
    """Log a scikit-learn or torch model with its signature, and register a version.

    Uses the active run, or starts one (tagged with the notebook, user, profile,
    git commit and job by the platform's lineage plugin) and ends it.

    Args:
        model: A fitted scikit-learn estimator or a torch ``nn.Module``.
        name: The registered model's name (also the logged model's name).
        X_example: A few input rows; the signature and input example come from them.
        metrics: Metrics to log on the run.
        params: Parameters to log on the run.
        register: Register a new version of ``name`` (default) or only log.
        tags: Tags for the run.
        description: Description of the new model version.
        explain: Also log SHAP values of the model (``nbp.explain.explain``) on
            ``X_explain`` (or ``X_example``) in the same run, under ``explain/``
            (``importance.json``, ``shap_values.parquet``, ``summary.png``, ``bar.png``).
        X_explain: The rows to explain (default ``X_example``).

    Returns:
        MLflow's ``ModelInfo`` (``model_uri``, ``run_id``, ``registered_model_version``).

    Raises:
        InvalidParameterError: The model is of an unsupported kind, or ``explain``
            without ``X_explain`` or ``X_example``.
    """
    mlflow = _mlflow()
    flavor = _flavor(model)
    explanation = None
    if explain:  # before anything is logged, so that a model it cannot explain logs nothing
        from . import explain as _explain

        rows = X_explain if X_explain is not None else X_example
        if rows is None:
            raise InvalidParameterError("log_model(explain=True) needs X_explain or X_example.")
        explanation = _explain.explain(model, rows)
    signature = example = None
    if X_example is not None:
        from mlflow.models import infer_signature

        example = _as_numpy(X_example) if flavor == "pytorch" else X_example
        signature = infer_signature(example, _predict(model, flavor, example))
    started = mlflow.active_run() is None
    if started:
        mlflow.start_run()
    try:
        if params:
            mlflow.log_params(dict(params))
        if metrics:
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        if tags:
            mlflow.set_tags(dict(tags))
        flavor_module = mlflow.pytorch if flavor == "pytorch" else mlflow.sklearn
        extra = {"skops_trusted_types": _skops_types(model)} if flavor == "sklearn" else {}
        info = flavor_module.log_model(
            model,
            name=name,
            signature=signature,
            input_example=example,
            registered_model_name=name if register else None,
            **extra,
        )
        if register and description and info.registered_model_version is not None:
            _client().update_model_version(name, info.registered_model_version, description)
        if explanation is not None:
            _explain.log_explanation(explanation, run_id=mlflow.active_run().info.run_id)
    finally:
        if started:
            mlflow.end_run()
    return info


def register_model(model_uri: str, name: str, tags: Mapping[str, str] | None = None) -> Any:
    """Register ``model_uri`` (``runs:/…`` or ``models:/…``) as a new version of ``name``.

    Returns:
        MLflow's ``ModelVersion``.
    """
    return _mlflow().register_model(model_uri, name, tags=dict(tags) if tags else None)


def search_models(
    filter_string: str | None = None,
    max_results: int = 100,
    order_by: list[str] | None = None,
    page_token: str | None = None,
) -> ModelList:
    """Search registered models (MLflow's syntax, e.g. ``"name LIKE 'churn%'"``).

    Args:
        filter_string: MLflow's filter, e.g. ``"name LIKE 'churn%'"`` (default: all).
        max_results: Models on a page.
        order_by: MLflow's ordering, e.g. ``["name ASC"]``.
        page_token: The ``.token`` of the page before.

    Returns:
        A list of ``RegisteredModel`` (``.token`` is the next page's token) that
        shows as a table (aliases, latest version, description, last update);
        ``.to_pandas()`` gives a DataFrame.
    """
    found = _client().search_registered_models(
        filter_string=filter_string,
        max_results=max_results,
        order_by=order_by,
        page_token=page_token,
    )
    return ModelList(found, token=getattr(found, "token", None))


def get_model_version_by_alias(name: str, alias: str = DEFAULT_ALIAS) -> Any:
    """Return the ``ModelVersion`` that ``alias`` of ``name`` points to."""
    return _client().get_model_version_by_alias(name, alias)


def load_model(model_uri: str, flavor: str = "native") -> Any:
    """Load a model, e.g. ``load_model("models:/churn@champion")``.

    Args:
        model_uri: Any MLflow model URI.
        flavor: ``native`` loads the scikit-learn estimator or torch module when the
            model has that flavor (else pyfunc); ``pyfunc`` always loads pyfunc.

    Returns:
        The model.
    """
    mlflow = _mlflow()
    if flavor == "native":
        from mlflow.models import get_model_info

        flavors = get_model_info(model_uri).flavors
        if "sklearn" in flavors:
            return mlflow.sklearn.load_model(model_uri)
        if "pytorch" in flavors:
            return mlflow.pytorch.load_model(model_uri)
    return mlflow.pyfunc.load_model(model_uri)


def compare_versions(name: str, versions: Iterable[int | str] | None = None) -> Any:
    """Put versions of ``name`` side by side: their runs' metrics and params.

    Args:
        name: The registered model.
        versions: Versions to compare (every version when omitted).

    Returns:
        A pandas ``DataFrame`` indexed by version, with ``run_id``, ``aliases``,
        ``metrics.<name>`` and ``params.<name>`` columns.
    """
    pd = require("pandas", "ml", "nbp.registry.compare_versions", "pandas")
    client = _client()
    if versions is None:
        found = client.search_model_versions(f"name = '{name.replace(chr(39), chr(39) * 2)}'")
        versions = sorted(int(v.version) for v in found)
    rows = []
    for version in versions:
        mv = client.get_model_version(name, str(version))
        row: dict[str, Any] = {
            "version": int(mv.version),
            "run_id": mv.run_id,
            "aliases": ",".join(mv.aliases or []),
        }
        if mv.run_id:
            data = client.get_run(mv.run_id).data
            row.update({f"metrics.{k}": v for k, v in data.metrics.items()})
            row.update({f"params.{k}": v for k, v in data.params.items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("version") if rows else pd.DataFrame()


# Promotions (through the platform service) ---------------------------------------
def request_promotion(
    name: str, version: int | str, alias: str = DEFAULT_ALIAS, note: str | None = None
) -> dict[str, Any]:
    """Ask platform-admins to point ``alias`` of ``name`` at ``version``.

    Returns:
        The promotion request (``id``, ``state`` ``pending``...).
    """
    body = {"model": name, "version": str(version), "alias": alias, "note": note}
    return PlatformClient().request("POST", "api/promotions", json=body)


def list_promotions(
    state: str | None = "pending", model: str | None = None
) -> list[dict[str, Any]]:
    """Return promotion requests (pending ones by default), newest first."""
    params = {k: v for k, v in {"state": state, "model": model}.items() if v}
    return PlatformClient().request("GET", "api/promotions", params=params)["promotions"]


def approve_promotion(request_id: int, comment: str | None = None) -> dict[str, Any]:
    """Approve a request: the alias moves, the former holder is kept.

    Platform-admins approve requests made by someone else (four eyes; the
    platform's ``NBP_PROMOTION_SELF_APPROVAL=1`` lifts that for one-person teams).

    Raises:
        PermissionDeniedError: The caller is no platform-admin, or asked for it.
        ConflictError: It is decided already, or the alias moved since the request.
    """
    return PlatformClient().request(
        "POST", f"api/promotions/{int(request_id)}/approve", json={"comment": comment}
    )


def reject_promotion(request_id: int, comment: str | None = None) -> dict[str, Any]:
    """Reject a request (platform-admins)."""
    return PlatformClient().request(
        "POST", f"api/promotions/{int(request_id)}/reject", json={"comment": comment}
    )


def rollback(name: str, alias: str = DEFAULT_ALIAS) -> dict[str, Any]:
    """Point ``alias`` back at ``previous-<alias>`` (platform-admins).

    Returns:
        ``{"model", "alias", "version", "previous_version"}``.
    """
    from urllib.parse import quote

    if not name:
        raise NotFoundError("Name the model to roll back.")
    return PlatformClient().request(
        "POST", f"api/models/{quote(name, safe='')}/rollback", json={"alias": alias}
    )


def replay_model_version(
    name: str,
    version: int | str,
    wait: bool = True,
    timeout: float | None = 1800,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    allow_profile_change: bool = False,
    progress: bool = True,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Re-run the job run that made a version and compare its metrics with the recorded ones.

    The version must have been registered by a job's run; the replay is a re-run
    of that run (the same input snapshot, parameters and profile), so only who
    may run the job may replay it (its owner, or a jobs admin).

    Args:
        name: The registered model.
        version: The version.
        wait: Wait for the replay to end (a tqdm bar, cell i of n), then compare.
        timeout: Give up waiting after this many seconds (``TimeoutError``; the
            replay goes on).
        rtol: Relative tolerance of a reproduced metric (the platform's default: 1e-6).
        atol: Absolute tolerance, for metrics recorded as 0 (default: 1e-12).
        allow_profile_change: Replay even when the job now runs on another profile.
        progress: Show the progress bar while waiting.
        client: A client (default: the kernel's or ``NBP_*`` configuration).

    Returns:
        The comparison: ``reproduced`` (``None`` until the replay ended),
        ``metrics`` (``key``, ``recorded``, ``new``, ``abs_diff``, ``rel_diff``,
        ``reproduced`` each), ``run`` (the replay's job run), ``status``,
        ``mlflow_run_id``, ``new_version``, ``message``.

    Raises:
        ConflictError: The version was not made by a job run, or that run is gone.
        PermissionDeniedError: The caller may not run that job.
        NotFoundError: No such model or version.

    Example:
        >>> result = nbp.registry.replay_model_version("churn", 3)
        >>> result["reproduced"], [(m["key"], m["rel_diff"]) for m in result["metrics"]]
    """
    from urllib.parse import quote

    from . import jobs as _jobs

    number = str(version)
    if not number.isdigit():
        raise InvalidParameterError(f"version: {number[:40]!r} is not a version number.")
    platform = client or PlatformClient()
    base = f"api/models/{quote(name, safe='')}/versions/{number}"
    body = {"allow_profile_change": True} if allow_profile_change else {}
    started = platform.request("POST", f"{base}/replay", json=body)
    run = started["run"]
    if wait:
        _jobs.wait(run, timeout=timeout, progress=progress, client=platform)
    params = {k: v for k, v in {"rtol": rtol, "atol": atol}.items() if v is not None}
    return platform.request("GET", f"{base}/replays/{run['id']}", params=params)


__all__ = [
    "approve_promotion",
    "compare_versions",
    "get_model_version_by_alias",
    "list_promotions",
    "load_model",
    "log_model",
    "register_model",
    "reject_promotion",
    "replay_model_version",
    "request_promotion",
    "rollback",
    "search_models",
]


def _permissions_path(name: str | None, experiment_id: str | None) -> str:
    from urllib.parse import quote

    if (name is None) == (experiment_id is None):
        raise InvalidParameterError("Name a registered model or give an experiment_id, not both.")
    if name is not None:
        return f"api/permissions/registered-models/{quote(name, safe='')}"
    return f"api/permissions/experiments/{quote(str(experiment_id), safe='')}"


def get_permissions(name: str | None = None, *, experiment_id: str | None = None) -> dict[str, Any]:
    """Return the owner and the grants of a registered model (or an experiment).

    Returns:
        ``{"owner", "grants", "may_edit", "may_manage", "my_permission"}``.
    """
    return PlatformClient().request("GET", _permissions_path(name, experiment_id))


def grant(
    name: str | None = None,
    *,
    experiment_id: str | None = None,
    user: str | None = None,
    group: str | None = None,
    permission: str = "EDIT",
) -> dict[str, Any]:
    """Let a user or a group read, edit or manage your registered model (or experiment).

    Others in the team read everything already; ``EDIT`` lets them register
    versions, tag and set unprotected aliases (on an experiment: start and change
    runs in it), ``MANAGE`` also grant and delete. Needs ``MANAGE`` yourself.

    Example:
        >>> nbp.registry.grant("churn", user="bob", permission="EDIT")
        >>> nbp.registry.grant(experiment_id="3", group="data-scientist")

    Returns:
        The permissions after the change (as :func:`get_permissions`).
    """
    body: dict[str, Any] = {"permission": permission.upper()}
    body.update({"user": user} if user is not None else {"group": group})
    return PlatformClient().request("POST", _permissions_path(name, experiment_id), json=body)


def revoke(
    name: str | None = None,
    *,
    experiment_id: str | None = None,
    user: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """Take back what :func:`grant` gave a user or a group.

    Returns:
        The permissions after the change (as :func:`get_permissions`).
    """
    body = {"user": user} if user is not None else {"group": group}
    return PlatformClient().request("DELETE", _permissions_path(name, experiment_id), json=body)
