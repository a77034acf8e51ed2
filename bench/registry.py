"""Models through the platform vs bare MLflow, same run, same MLflow server.

``registry_list``: list every registered model (``--models`` × ``--versions``;
the issue's figure is 1,000 × 5) page by page (100 a page) through the platform
service's ``api/models`` (the Models panel's source, through the public proxy,
token-checked) vs ``MlflowClient.search_registered_models`` straight against a
bare MLflow server on a loopback port over the same store (the platform's own
listens only on its Unix socket). ``registry_log_model``: ``mlflow.sklearn.log_model`` of a
small model through the gateway (what a kernel does) vs directly against MLflow.
``registry_register``: the same with ``registered_model_name`` (a run, a logged model
and a model version, each written with its lineage by the gateway).
Turns alternate so that both sides see the same machine state. Goals: list
ratio ≤ 1.5, log_model ratio ≤ 1.2. ``ratio`` in the JSON line is the list p50 ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402


def _bare_mlflow(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A plain ``mlflow server`` on a loopback port over the platform's own MLflow store.

    The platform's MLflow listens only on its Unix socket; the bare side of the
    comparison is this second server of the same version on the same database and
    artifacts, which clients reach directly.
    """
    port = benchlib.harness().free_port()
    store = home / "mlflow"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--backend-store-uri=sqlite:///{store / 'mlflow.db'}",
            f"--artifacts-destination={store / 'artifacts'}",
            "--serve-artifacts",
            "--workers=1",
        ],
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the bare MLflow server did not start")


def _populate(mlflow_url: str, models: int, versions: int) -> None:
    session = requests.Session()
    api = f"{mlflow_url}/api/2.0/mlflow"
    run = session.post(f"{api}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]

    def one(i: int) -> None:
        name = f"bench-model-{i:05d}"
        session.post(f"{api}/registered-models/create", json={"name": name}).raise_for_status()
        for _ in range(versions):
            session.post(
                f"{api}/model-versions/create",
                json={"name": name, "source": run["artifact_uri"] + "/m", "run_id": run["run_id"]},
            ).raise_for_status()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(models)))


def _list_platform(url: str, token: str) -> int:
    count, token_page = 0, None
    headers = {"Authorization": f"token {token}"}
    while True:
        params: dict[str, Any] = {"max_results": 100}
        if token_page:
            params["page_token"] = token_page
        r = requests.get(f"{url}/services/platform/api/models", params=params, headers=headers)
        r.raise_for_status()
        body = r.json()
        count += len(body["registered_models"])
        token_page = body.get("next_page_token")
        if not token_page:
            return count


def _list_direct(client: Any) -> int:
    count, token_page = 0, None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token_page)
        count += len(page)
        token_page = page.token
        if not token_page:
            return count


def _log_model(uri: str, token: str | None, register: str | None = None) -> float:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    os.environ["MLFLOW_TRACKING_URI"] = uri
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    else:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    X = np.random.RandomState(0).rand(50, 4)
    model = LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int))
    start = time.perf_counter()
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model, name="m", input_example=X[:3], registered_model_name=register
        )
    return time.perf_counter() - start


def main() -> int:
    """Run both measurements and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("-n", type=int, default=15, help="timed listings per side")
    parser.add_argument("--log-n", type=int, default=8, help="timed log_model calls per side")
    args = parser.parse_args()
    h = benchlib.harness()
    wall0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbp-bench-registry-") as home:
        platform = h.Platform(h.platform_env(Path(home))).start()
        try:
            bare_server, mlflow_url = _bare_mlflow(platform.home)
            token = platform.create_user("bench-ds", "data-scientist")
            t0 = time.perf_counter()
            _populate(mlflow_url, args.models, args.versions)
            print(
                f"created {args.models} models x {args.versions} versions "
                f"in {time.perf_counter() - t0:.0f} s"
            )
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=mlflow_url)
            ours, bare = [], []
            assert _list_platform(platform.url, token) == _list_direct(client) == args.models
            for _ in range(args.n):
                t = time.perf_counter()
                _list_platform(platform.url, token)
                ours.append(time.perf_counter() - t)
                t = time.perf_counter()
                _list_direct(client)
                bare.append(time.perf_counter() - t)
            gateway = f"{platform.url}/services/platform/mlflow/"
            _log_model(gateway, token), _log_model(mlflow_url, None)  # warm both
            log_ours, log_bare, reg_ours, reg_bare = [], [], [], []
            for _ in range(args.log_n):
                log_ours.append(_log_model(gateway, token))
                log_bare.append(_log_model(mlflow_url, None))
                reg_ours.append(_log_model(gateway, token, "bench-gateway"))
                reg_bare.append(_log_model(mlflow_url, None, "bench-direct"))
            peak = benchlib.tree_rss_mb(platform.proc.pid)
        finally:
            if "bare_server" in locals():
                bare_server.terminate()
                bare_server.wait(30)
            platform.stop()
    o, b = benchlib.summary(ours), benchlib.summary(bare)
    lo, lb = benchlib.summary(log_ours), benchlib.summary(log_bare)
    ro, rb = benchlib.summary(reg_ours), benchlib.summary(reg_bare)
    list_ratio = round(o["p50_s"] / b["p50_s"], 3)
    log_ratio = round(lo["p50_s"] / lb["p50_s"], 3)
    reg_ratio = round(ro["p50_s"] / rb["p50_s"], 3)
    print(
        f"registry_list p50: platform {o['p50_s']} s, MLflow client {b['p50_s']} s -> "
        f"{list_ratio} (goal <= 1.5); p95 {o['p95_s']} vs {b['p95_s']}"
    )
    print(
        f"registry_log_model p50: gateway {lo['p50_s']} s, direct {lb['p50_s']} s -> "
        f"{log_ratio} (goal <= 1.2)"
    )
    print(f"registry_register p50: gateway {ro['p50_s']} s, direct {rb['p50_s']} s -> {reg_ratio}")
    benchlib.emit(
        {
            "name": "registry",
            "ratio": list_ratio,
            "peak_rss_mb": round(peak, 1),
            "registry_list": {
                "ratio": list_ratio,
                "ours": o,
                "baseline": b,
                "models": args.models,
                "versions": args.versions,
            },
            "registry_log_model": {"ratio": log_ratio, "ours": lo, "baseline": lb},
            "registry_register": {"ratio": reg_ratio, "ours": ro, "baseline": rb},
            "goal": {"list_ratio_max": 1.5, "log_model_ratio_max": 1.2},
            "met": list_ratio <= 1.5 and log_ratio <= 1.2,
            "wall_s": round(time.perf_counter() - wall0, 1),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
