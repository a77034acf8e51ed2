"""The Features panel of the Platform sidebar, in Debian's Chromium.

Against the real platform of the session ``platform`` fixture: a data scientist
applies a small Feast repo (two views on parquet files under
``NBP_HOME/features/data``, one feature service) with ``nbp.features`` and their
own token, and materializes one view. In JupyterLab the Features panel shows
that view fresh, the other one never materialized; the view opens on its
schema, statistics and distributions; the code copied from it runs in the data
scientist's kernel.
"""

from __future__ import annotations

import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from browser_support import lab_session, new_user, open_lab, requires_chromium, screenshot

XSS = "<img src=x onerror=alert(1)>"
#: The rows of the materialized view's source: 4 drivers, 10 hours each.
DRIVERS, HOURS = (1001, 1002, 1003, 1004), 10

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(480),
    requires_chromium,
]


def write_sources(data: Path, suffix: str, now: datetime) -> tuple[Path, Path]:
    """Parquet files of two sources under the platform's data folder."""
    import pandas as pd

    data.mkdir(parents=True, exist_ok=True)
    times = [now - timedelta(hours=h + 1) for h in range(HOURS)]
    rows = [
        {
            "driver_id": driver,
            "event_timestamp": t,
            "conv_rate": ((driver * 7 + i * 13) % 100) / 100,
            "trips": (driver + i) % 9,
            "city": ["Lisbon", "Porto", "Faro"][(driver + i) % 3],
        }
        for driver in DRIVERS
        for i, t in enumerate(times)
    ]
    hot, cold = data / f"driver_hourly_{suffix}.parquet", data / f"driver_rating_{suffix}.parquet"
    pd.DataFrame(rows).to_parquet(hot, index=False)
    pd.DataFrame(
        [{"driver_id": d, "event_timestamp": times[0], "rating": 4.5} for d in DRIVERS]
    ).to_parquet(cold, index=False)
    return hot, cold


def write_repo(repo: Path, suffix: str, hot: Path, cold: Path) -> dict[str, str]:
    """A Feast repo of one entity, two views and a service; return their names."""
    names = {
        "entity": f"driver_{suffix}",
        "view": f"driver_stats_{suffix}",
        "cold": f"driver_rating_{suffix}",
        "service": f"driver_model_{suffix}",
    }
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "drivers.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import timedelta

            from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
            from feast.types import Float32, Int64, String

            driver = Entity(name={names["entity"]!r}, join_keys=["driver_id"],
                            value_type=ValueType.INT64)
            hourly = FileSource(name="hourly_{suffix}", path={str(hot)!r},
                                timestamp_field="event_timestamp")
            ratings = FileSource(name="ratings_{suffix}", path={str(cold)!r},
                                 timestamp_field="event_timestamp")
            stats = FeatureView(
                name={names["view"]!r},
                description={XSS!r},
                entities=[driver],
                ttl=timedelta(days=3650),
                schema=[Field(name="driver_id", dtype=Int64),
                        Field(name="conv_rate", dtype=Float32),
                        Field(name="trips", dtype=Int64),
                        Field(name="city", dtype=String)],
                source=hourly,
                online=True,
            )
            rating = FeatureView(
                name={names["cold"]!r},
                entities=[driver],
                ttl=timedelta(hours=1),
                schema=[Field(name="driver_id", dtype=Int64),
                        Field(name="rating", dtype=Float32)],
                source=ratings,
                online=True,
            )
            model = FeatureService(name={names["service"]!r},
                                   features=[stats[["conv_rate", "trips"]], rating])
            """
        )
    )
    return names


def test_features_panel_shows_freshness_schema_and_copies_code_that_runs(platform, page, tmp_path):
    from nbplatform import features
    from nbplatform.client import PlatformClient

    ds, password, token = new_user(platform, "fiona", "data-scientist")
    suffix = uuid.uuid4().hex[:6]
    now = datetime.now(UTC).replace(microsecond=0)
    hot, cold = write_sources(platform.home / "features" / "data", suffix, now)
    names = write_repo(tmp_path / "repo", suffix, hot, cold)
    view, service = names["view"], names["service"]

    # The data scientist applies the repo and materializes one view, as from a notebook.
    client = PlatformClient(f"{platform.url}/services/platform/", token)
    applied = features.apply(tmp_path / "repo", client=client)
    created = {(o["kind"], o["name"]) for o in applied["created"]}
    assert ("feature_view", view) in created and ("feature_service", service) in created
    run = features.materialize(now - timedelta(days=2), now, views=[view], client=client)
    assert run["status"] == "succeeded", run

    # What the panel shows comes from the platform unchanged, through the lab extension.
    platform.spawn(ds, "cpu-small")
    with lab_session(page, platform, ds, failure_shot="features-failure.png"):
        for path in ("services", f"views/{view}", f"materializations?view={view}"):
            direct = platform.service("GET", f"api/features/{path}", token)
            forwarded = platform.server(ds, "GET", f"nbplatform/api/features/{path}", token)
            assert forwarded.status_code == direct.status_code == 200, (path, forwarded.text)
            one, other = direct.json(), forwarded.json()
            # (freshness is judged at each call: its age moves on)
            one.pop("freshness", None)
            other.pop("freshness", None)
            assert one == other, path
        r = platform.server(ds, "GET", "nbplatform/api/features/registry", token)
        assert r.status_code == 404  # the panel reads no more than it shows

        open_lab(page, platform, ds, password)
        section = page.get_by_test_id("nbp-section-features")
        item = section.locator(f"[data-testid=nbp-feature-view][data-view='{view}']")
        item.wait_for(state="visible", timeout=30_000)
        fresh = item.get_by_test_id("nbp-feature-freshness")
        assert fresh.get_attribute("data-status") == "fresh"
        assert fresh.inner_text().startswith("fresh"), fresh.inner_text()
        assert item.get_by_test_id("nbp-feature-ttl").inner_text() == "TTL 3650 d"
        assert item.get_by_test_id("nbp-feature-entities").inner_text() == (
            f"{names['entity']} (driver_id)"
        )
        assert item.get_by_test_id("nbp-feature-run-status").inner_text() == "succeeded"
        # Text from the repo is text: the markup shows literally, no element is made.
        assert item.get_by_test_id("nbp-feature-description").inner_text() == XSS

        never = section.locator(f"[data-testid=nbp-feature-view][data-view='{names['cold']}']")
        never.wait_for(state="visible")
        badge = never.get_by_test_id("nbp-feature-freshness")
        assert badge.get_attribute("data-status") == "never"
        assert badge.inner_text() == "never materialized"
        assert never.get_by_test_id("nbp-feature-last-run").count() == 0

        services = section.locator(f"[data-testid=nbp-feature-service][data-service='{service}']")
        services.wait_for(state="visible")
        assert "3 features" in services.inner_text()

        # The view's details: source, rows, schema with distributions.
        item.get_by_test_id("nbp-feature-view-toggle").click()
        detail = item.get_by_test_id("nbp-feature-view-detail")
        detail.get_by_test_id("nbp-feature-row-count").wait_for(state="visible")
        rows = len(DRIVERS) * HOURS
        assert detail.get_by_test_id("nbp-feature-row-count").inner_text() == f"{rows} rows"
        assert detail.get_by_test_id("nbp-feature-source-path").inner_text() == str(hot)
        schema = {
            r.get_by_test_id("nbp-feature-name").inner_text(): r.get_by_test_id(
                "nbp-feature-dtype"
            ).inner_text()
            for r in detail.get_by_test_id("nbp-feature-row").all()
        }
        assert schema == {"conv_rate": "Float32", "trips": "Int64", "city": "String"}, schema
        conv = detail.locator(f"[data-testid=nbp-feature-row][data-feature='{view}:conv_rate']")
        histogram = conv.locator("svg[data-testid=nbp-feature-histogram]")
        histogram.wait_for(state="visible")
        assert histogram.locator("rect").count() >= 2
        city = detail.locator(f"[data-testid=nbp-feature-row][data-feature='{view}:city']")
        assert city.locator("svg[data-testid=nbp-feature-top] rect").count() == 3
        detail.get_by_test_id("nbp-feature-materialization").first.wait_for(state="visible")
        (materialization,) = detail.get_by_test_id("nbp-feature-materialization").all()
        assert materialization.get_attribute("data-status") == "succeeded"
        assert page.locator("[data-testid=nbp-sidebar] img").count() == 0
        screenshot(page, "features-panel-view.png")

        # Copy code for two of the three features; the code lands on the clipboard.
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=platform.url)
        city.get_by_test_id("nbp-feature-select").uncheck()
        detail.get_by_test_id("nbp-feature-copy-training").click()
        snippet = detail.get_by_test_id("nbp-feature-snippet")
        snippet.wait_for(state="visible")
        training = snippet.inner_text()
        assert "nbp.features.get_training_frame(" in training
        assert f'"{view}:conv_rate",' in training and f'"{view}:trips",' in training
        assert f"{view}:city" not in training
        assert '"driver_id": [1001, ' in training
        clipboard = page.evaluate("navigator.clipboard.readText()")
        assert clipboard == training

        detail.get_by_test_id("nbp-feature-copy-online").click()
        online = snippet.inner_text()
        assert snippet.get_attribute("data-kind") == "online"
        assert "nbp.features.get_online_features(" in online
        assert '{"driver_id": 1001},' in online
        screenshot(page, "features-panel-snippet.png")
        assert page.dialogs == []

        # The copied code runs in the data scientist's kernel, as it is.
        out = platform.execute(
            ds,
            f"{training}\nprint(training_df.shape)\n{online}\nprint(sorted(online))",
            token,
            timeout=240,
        )
        assert out["status"] == "ok", out
        lines = out["stdout"].strip().splitlines()
        assert lines[-2] == "(2, 4)", out["stdout"]  # driver_id, event_timestamp, 2 features
        assert "conv_rate" in lines[-1] and "trips" in lines[-1], out["stdout"]
