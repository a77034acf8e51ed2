"""A notebook's Dask cluster: its dashboard through the hub for its owner only."""

from __future__ import annotations

import pytest

from platform_harness import last_json_line

pytestmark = pytest.mark.integration


def test_the_dashboard_opens_through_the_hub_for_its_owner_only(platform):
    token = platform.create_user("dora")
    other = platform.create_user("otto")
    with platform.spawned("dora", "cpu-small"):
        code = f"""
import json, requests
cluster = nbp.compute.cluster(n_workers=1)
url = {platform.url!r} + cluster.dashboard_link
def status(token):
    r = requests.get(url, headers={{"Authorization": "token " + token}}, allow_redirects=False,
                     timeout=30)
    return r.status_code, "Dask" in r.text
print(json.dumps({{"link": cluster.dashboard_link, "owner": status({token!r}),
                  "other": status({other!r}), "nobody": status("")}}))
nbp.compute.close()
"""
        out = platform.execute("dora", code, token, timeout=180)
        assert out["status"] == "ok", out
        seen = last_json_line(out["stdout"])
    assert seen["link"].startswith("/user/dora/proxy/") and seen["link"].endswith("/status")
    assert seen["owner"] == [200, True]
    assert seen["other"][0] in (302, 403, 404) and not seen["other"][1]
    assert seen["nobody"][0] in (302, 403) and not seen["nobody"][1]
