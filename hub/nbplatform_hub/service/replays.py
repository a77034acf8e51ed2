"""Replays of model versions: where a version came from, and how a replay compares.

A version made by a job run carries that run's lineage (``nbp.job_id``,
``nbp.job_run_id``, ``nbp.profile``, written by the platform, see
:mod:`.mlflow_lineage`). Replaying it re-runs that job run (the jobs API's
re-run: the same input snapshot and parameters) and compares the metrics of the
MLflow run the replay makes with the recorded ones.

A metric is reproduced when ``|new - recorded| <= atol + rtol * |recorded|``
(NumPy's ``isclose``), with :data:`DEFAULT_RTOL` and :data:`DEFAULT_ATOL` unless
the caller says otherwise: a deterministic notebook reproduces its metrics
exactly, and the default tolerance only forgives the last digits that a
different order of floating-point sums (threads, BLAS) changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbplatform.errors import ConflictError, InvalidParameterError

from .mlflow_lineage import JOB_ID, JOB_RUN_ID, PROFILE

#: Default relative tolerance of a reproduced metric.
DEFAULT_RTOL = 1e-6
#: Default absolute tolerance (for metrics whose recorded value is 0).
DEFAULT_ATOL = 1e-12
#: The largest tolerance taken (a larger one would call anything reproduced).
MAX_TOLERANCE = 1e6
#: Statuses after which a job run does not change.
FINAL_STATUSES = ("succeeded", "failed", "timed-out", "cancelled")
#: The most runs of one job run looked at when picking the replay's MLflow run.
MAX_CANDIDATES = 100
RUN_NAME = "mlflow.runName"


@dataclass(frozen=True)
class Origin:
    """The job run that made a model version, and what it recorded.

    Attributes:
        name: The registered model.
        version: The version.
        mlflow_run_id: The MLflow run the version was registered from.
        experiment_id: That run's experiment.
        run_name: That run's name.
        job_id: The job (``nbp.job_id``).
        job_run_id: The job run (``nbp.job_run_id``).
        profile: The profile it ran on (``nbp.profile``), if recorded.
        metrics: The run's metrics (latest value of each).
    """

    name: str
    version: str
    mlflow_run_id: str
    experiment_id: str | None
    run_name: str | None
    job_id: str
    job_run_id: str
    profile: str | None
    metrics: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The API's ``original``: ``{job_id, job_run_id, mlflow_run_id, profile, metrics}``."""
        return {
            "job_id": self.job_id,
            "job_run_id": self.job_run_id,
            "mlflow_run_id": self.mlflow_run_id,
            "profile": self.profile,
            "metrics": {k: finite(v) for k, v in sorted(self.metrics.items())},
        }


def tags_of(items: Iterable[Any] | None) -> dict[str, str]:
    """MLflow's ``[{"key", "value"}]`` tags as a dict."""
    return {
        str(t.get("key")): str(t.get("value", ""))
        for t in items or []
        if isinstance(t, Mapping) and t.get("key") is not None
    }


def metrics_of(run: Mapping[str, Any]) -> dict[str, float]:
    """The latest value of each metric of an MLflow run."""
    return {
        str(m["key"]): float(m["value"])
        for m in run.get("data", {}).get("metrics", [])
        if m.get("key") is not None and m.get("value") is not None
    }


def origin_of(name: str, version: Mapping[str, Any], run: Mapping[str, Any] | None) -> Origin:
    """Where ``version`` came from (its tags first, then its run's).

    Args:
        name: The registered model.
        version: MLflow's model version.
        run: The MLflow run it was registered from (``None`` when it is gone).

    Raises:
        ConflictError: Not made by a job run (no ``nbp.job_run_id``), or its run is gone.
    """
    number = str(version.get("version", ""))
    run_tags = tags_of((run or {}).get("data", {}).get("tags"))
    tags = {**run_tags, **tags_of(version.get("tags"))}
    if not tags.get(JOB_RUN_ID) or not tags.get(JOB_ID):
        raise ConflictError(
            f"Version {number} of {name!r} was not made by a job run (it has no "
            f"{JOB_RUN_ID} tag): only versions a scheduled notebook registered can be "
            "replayed. Schedule the notebook as a job and register the version from its run."
        )
    if run is None:
        raise ConflictError(
            f"The MLflow run that made version {number} of {name!r} is gone: there are "
            "no recorded metrics to compare a replay with."
        )
    info = run.get("info", {})
    return Origin(
        name=name,
        version=number,
        mlflow_run_id=str(version.get("run_id") or info.get("run_id")),
        experiment_id=info.get("experiment_id"),
        run_name=info.get("run_name") or run_tags.get(RUN_NAME),
        job_id=tags[JOB_ID],
        job_run_id=tags[JOB_RUN_ID],
        profile=tags.get(PROFILE) or None,
        metrics=metrics_of(run),
    )


def tolerance(name: str, raw: str | None, default: float) -> float:
    """A tolerance from the query: a finite number from 0 to :data:`MAX_TOLERANCE`.

    Raises:
        InvalidParameterError: Anything else.
    """
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 <= value <= MAX_TOLERANCE):
        raise InvalidParameterError(
            f"{name}: {raw[:40]!r} is not a number from 0 to {MAX_TOLERANCE:g}."
        )
    return value


def finite(value: float | None) -> float | None:
    """``value``, or ``None`` when it is no finite number (JSON has no NaN)."""
    return value if value is not None and math.isfinite(value) else None


def close(recorded: float, new: float, rtol: float, atol: float) -> bool:
    """Whether ``new`` reproduces ``recorded`` (NaN reproduces NaN, an infinity itself)."""
    if math.isnan(recorded) or math.isnan(new):
        return math.isnan(recorded) and math.isnan(new)
    if math.isinf(recorded) or math.isinf(new):
        return recorded == new
    return abs(new - recorded) <= atol + rtol * abs(recorded)


def compare(
    recorded: Mapping[str, float], new: Mapping[str, float], rtol: float, atol: float
) -> list[dict[str, Any]]:
    """Each recorded metric with its new value, differences and verdict, by name.

    Returns:
        ``[{"key", "recorded", "new", "abs_diff", "rel_diff", "reproduced"}]``;
        ``new`` is ``None`` when the replay did not log the metric, ``rel_diff``
        when the recorded value is 0 (and the new one is not), and non-finite
        values are ``None``.
    """
    rows = []
    for key in sorted(recorded):
        old, value = recorded[key], new.get(key)
        row: dict[str, Any] = {
            "key": key,
            "recorded": finite(old),
            "new": finite(value),
            "abs_diff": None,
            "rel_diff": None,
            "reproduced": False,
        }
        if value is not None:
            row["reproduced"] = close(old, value, rtol, atol)
            diff = abs(value - old)
            if math.isfinite(diff):
                row["abs_diff"] = diff
                if old != 0:
                    row["rel_diff"] = diff / abs(old)
                elif diff == 0:
                    row["rel_diff"] = 0.0
        rows.append(row)
    return rows


def pick_run(candidates: list[Mapping[str, Any]], origin: Origin) -> Mapping[str, Any] | None:
    """The replay's MLflow run that stands for the version's run, among a job run's runs.

    A notebook may start several MLflow runs (trials, nested runs): the one with
    the original's name, else the one logging the most of its metrics, else the
    first started.
    """
    if not candidates:
        return None

    def start(run: Mapping[str, Any]) -> int:
        return int(run.get("info", {}).get("start_time") or 0)

    if origin.run_name:
        named = [r for r in candidates if r.get("info", {}).get("run_name") == origin.run_name]
        if named:
            return min(named, key=start)
    wanted = set(origin.metrics)
    return min(candidates, key=lambda r: (-len(wanted & set(metrics_of(r))), start(r)))


def quoted(value: str) -> str:
    """``value`` as a string literal of MLflow's search syntax."""
    return "'" + value.replace("'", "''") + "'"


async def find_replay_run(mlflow: Any, job_run_id: str, origin: Origin) -> Mapping[str, Any] | None:
    """The MLflow run the job run ``job_run_id`` made for ``origin`` (or ``None``).

    Looked for in the original's experiment first, then in every experiment.
    """
    query = f"tags.`{JOB_RUN_ID}` = {quoted(job_run_id)}"
    body: dict[str, Any] = {
        "filter": query,
        "max_results": MAX_CANDIDATES,
        "run_view_type": "ACTIVE_ONLY",
    }
    if origin.experiment_id:
        found = await mlflow.call(
            "POST", "runs/search", {**body, "experiment_ids": [origin.experiment_id]}
        )
        if found.get("runs"):
            return pick_run(found["runs"], origin)
    experiments = await mlflow.call("POST", "experiments/search", {"max_results": 1000})
    ids = [e["experiment_id"] for e in experiments.get("experiments", [])]
    ids = [i for i in ids if i != origin.experiment_id]
    if not ids:
        return None
    found = await mlflow.call("POST", "runs/search", {**body, "experiment_ids": ids})
    return pick_run(found.get("runs", []), origin)


async def version_of_run(mlflow: Any, name: str, run_id: str) -> str | None:
    """The version of ``name`` registered from the MLflow run ``run_id``, if any."""
    params = {"filter": f"name = {quoted(name)} and run_id = {quoted(run_id)}", "max_results": 10}
    try:
        answer = await mlflow.call("GET", "model-versions/search", params)
    except Exception:  # noqa: BLE001 - the version is a courtesy; the comparison stands
        return None
    versions = sorted(int(v["version"]) for v in answer.get("model_versions", []))
    return str(versions[-1]) if versions else None


def comparison(
    origin: Origin,
    run: Mapping[str, Any],
    replay_run: Mapping[str, Any] | None,
    new_version: str | None,
    rtol: float,
    atol: float,
) -> dict[str, Any]:
    """The answer of ``GET .../replays/<run_id>``.

    Args:
        origin: The version's origin.
        run: The replay's job run (the jobs API's model).
        replay_run: The MLflow run the replay made, once it ended (or ``None``).
        new_version: The version the replay registered, if any.
        rtol: Relative tolerance.
        atol: Absolute tolerance.
    """
    finished = run.get("status") in FINAL_STATUSES
    answer: dict[str, Any] = {
        "name": origin.name,
        "version": origin.version,
        "original": origin.summary(),
        "run": dict(run),
        "status": run.get("status"),
        "finished": finished,
        "mlflow_run_id": None,
        "new_version": new_version,
        "rtol": rtol,
        "atol": atol,
        "reproduced": None,
        "metrics": [],
        "new_only": [],
        "message": None,
    }
    if not finished:
        answer["message"] = f"The replay is {run.get('status')}: compare once it has ended."
        return answer
    if replay_run is None:
        answer["reproduced"] = False
        answer["message"] = (
            f"The replay {run.get('status')} without an MLflow run of its own: "
            "nothing to compare (see the run's log)."
        )
        return answer
    new = metrics_of(replay_run)
    rows = compare(origin.metrics, new, rtol, atol)
    answer["mlflow_run_id"] = replay_run.get("info", {}).get("run_id")
    answer["metrics"] = rows
    answer["new_only"] = sorted(set(new) - set(origin.metrics))
    succeeded = run.get("status") == "succeeded"
    answer["reproduced"] = succeeded and all(r["reproduced"] for r in rows)
    if not succeeded:
        answer["message"] = f"The replay {run.get('status')}: its metrics may be partial."
    elif not rows:
        answer["message"] = "The version's run recorded no metrics: nothing to compare."
    else:
        missed = [r["key"] for r in rows if not r["reproduced"]]
        if missed:
            shown = ", ".join(missed[:10]) + (" ..." if len(missed) > 10 else "")
            answer["message"] = f"Not reproduced within rtol={rtol:g}, atol={atol:g}: {shown}."
    return answer
