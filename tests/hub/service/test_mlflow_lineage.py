"""The lineage the gateway writes: from the token, a job's run, a version's run."""

from __future__ import annotations

import os

import pytest

from nbplatform.errors import InvalidParameterError, PermissionDeniedError
from nbplatform_hub.service.mlflow_lineage import (
    Origin,
    check_notebook_claim,
    creation_tags,
    run_of_source,
    version_tags,
)

RUN = "0123456789abcdef0123456789abcdef"
JOB = Origin(
    "alice",
    job_id="j1",
    run_id="r1",
    notebook="flows/train.ipynb",
    git_commit="c" * 40,
    git_dirty=False,
    profile="cpu-small",
)


def tags(pairs):
    return [{"key": k, "value": v} for k, v in pairs.items()]


def as_dict(result):
    keys = [t["key"] for t in result]
    assert len(keys) == len(set(keys)), keys
    return {t["key"]: t["value"] for t in result}


def test_an_interactive_run_gets_its_user_from_the_token_and_keeps_its_claims(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "train.ipynb").write_text("{}")
    client = {
        "mlflow.user": "alice",
        "nbp.user": "alice",
        "nbp.notebook": "work/train.ipynb",
        "nbp.server": "gpu",
        "nbp.profile": "gpu-1",
        "nbp.git_dirty": "true",
        "mlflow.source.name": "work/train.ipynb",
        "mlflow.source.type": "NOTEBOOK",
        "mlflow.source.git.commit": "a" * 40,
        "mlflow.runName": "first",
        "team": "churn",
    }
    got = as_dict(creation_tags(tags(client), Origin("alice", workspace=tmp_path)))
    assert got == client


def test_without_lineage_the_platform_still_names_the_user():
    got = as_dict(creation_tags([], Origin("alice")))
    assert got == {"mlflow.user": "alice", "nbp.user": "alice"}


def test_mlflows_guess_of_the_user_is_replaced_by_the_tokens():
    # MLflow's own client fills mlflow.user from the operating system (root, jupyter-alice)
    got = as_dict(creation_tags(tags({"mlflow.user": "root"}), Origin("alice")))
    assert got == {"mlflow.user": "alice", "nbp.user": "alice"}


@pytest.mark.parametrize(
    "key,value",
    [
        ("nbp.user", "bob"),
        ("nbp.job_id", "j9"),
        ("nbp.job_run_id", "r9"),
        ("nbp.anything", "x"),
        ("nbp.registered_by", "bob"),
    ],
)
def test_forged_reserved_tags_are_refused(key, value):
    with pytest.raises(PermissionDeniedError, match=key.replace(".", r"\.")):
        creation_tags(tags({key: value}), Origin("alice"))


def test_a_job_run_cannot_claim_another_job_run():
    with pytest.raises(PermissionDeniedError, match="r1"):
        creation_tags(tags({"nbp.job_run_id": "r2"}), JOB)


def test_a_job_runs_lineage_is_the_platforms_whatever_the_client_sends():
    client = {
        "nbp.user": "alice",
        "nbp.job_id": "j1",
        "nbp.notebook": "bob/secret.ipynb",
        "nbp.profile": "gpu-4",
        "nbp.server": "x",
        "nbp.git_dirty": "true",
        "mlflow.source.name": "/usr/lib/python3/ipykernel_launcher.py",
        "mlflow.source.type": "NOTEBOOK",
        "mlflow.source.git.commit": "f" * 40,
        "mlflow.runName": "nightly",
    }
    got = as_dict(creation_tags(tags(client), JOB))
    assert got == {
        "mlflow.runName": "nightly",
        "mlflow.user": "alice",
        "nbp.user": "alice",
        "nbp.job_id": "j1",
        "nbp.job_run_id": "r1",
        "nbp.profile": "cpu-small",
        "nbp.notebook": "flows/train.ipynb",
        "mlflow.source.name": "flows/train.ipynb",
        "mlflow.source.type": "JOB",
        "mlflow.source.git.commit": "c" * 40,
        "nbp.git_dirty": "false",
    }


def test_a_job_outside_git_has_no_commit():
    origin = Origin("alice", job_id="j1", run_id="r1", notebook="t.ipynb")
    got = as_dict(creation_tags(tags({"mlflow.source.git.commit": "f" * 40}), origin))
    assert "mlflow.source.git.commit" not in got and "nbp.git_dirty" not in got
    assert got["mlflow.source.type"] == "JOB" and got["nbp.notebook"] == "t.ipynb"


def test_a_notebook_claim_not_in_the_callers_workspace_is_dropped(tmp_path):
    (tmp_path / "mine.ipynb").write_text("{}")
    client = {"nbp.notebook": "bob/secret.ipynb", "mlflow.source.name": "bob/secret.ipynb"}
    got = as_dict(creation_tags(tags(client), Origin("alice", workspace=tmp_path)))
    assert "nbp.notebook" not in got and "mlflow.source.name" not in got
    assert check_notebook_claim("mine.ipynb", tmp_path) == "mine.ipynb"


def test_a_symlink_out_of_the_workspace_is_no_notebook_of_it(tmp_path):
    outside = tmp_path / "other"
    outside.mkdir()
    (outside / "secret.ipynb").write_text("{}")
    workspace = tmp_path / "alice"
    workspace.mkdir()
    os.symlink(outside, workspace / "link")
    assert check_notebook_claim("link/secret.ipynb", workspace) is None


@pytest.mark.parametrize(
    "claim", ["/etc/passwd", "../bob/x.ipynb", "a/../../x", "~bob/x", "a\\b", "a\nb", ""]
)
def test_a_notebook_claim_must_be_a_path_inside_a_workspace(claim, tmp_path):
    with pytest.raises(InvalidParameterError, match="inside your workspace"):
        creation_tags(tags({"nbp.notebook": claim}), Origin("alice", workspace=tmp_path))


def test_git_dirty_is_true_or_false():
    with pytest.raises(InvalidParameterError, match="git_dirty"):
        creation_tags(tags({"nbp.git_dirty": "maybe"}), Origin("alice"))


def test_a_workspace_the_service_may_not_read_leaves_the_claim_standing(tmp_path, monkeypatch):
    workspace = tmp_path / "alice"
    workspace.mkdir()
    assert check_notebook_claim("t.ipynb", workspace) is None
    # isolated users: the service (not root) may not look into alice's folder
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert check_notebook_claim("t.ipynb", workspace) == "t.ipynb"


@pytest.mark.parametrize(
    "source,run_id,expected",
    [
        (f"runs:/{RUN}/model", None, RUN),
        (f"mlflow-artifacts:/3/{RUN}/artifacts/model", None, RUN),
        ("models:/m-" + "0" * 32, None, None),
        ("models:/m-" + "0" * 32, RUN, RUN),
        ("runs:/not-a-run/model", None, None),
    ],
)
def test_the_run_a_version_is_made_from(source, run_id, expected):
    assert run_of_source(source, run_id) == expected


def test_a_version_gets_its_runs_lineage_and_who_registered_it():
    run_tags = {
        "nbp.notebook": "flows/train.ipynb",
        "nbp.user": "alice",
        "nbp.job_id": "j1",
        "nbp.job_run_id": "r1",
        "mlflow.source.git.commit": "c" * 40,
        "nbp.git_dirty": "false",
        "mlflow.source.type": "JOB",
        "mlflow.runName": "not copied",
    }
    got = as_dict(version_tags(tags({"stage": "candidate"}), run_tags, "carol"))
    assert got == {
        "stage": "candidate",
        **{k: v for k, v in run_tags.items() if k != "mlflow.runName"},
        "nbp.registered_by": "carol",
    }
    assert as_dict(version_tags([], {}, "carol")) == {"nbp.registered_by": "carol"}
