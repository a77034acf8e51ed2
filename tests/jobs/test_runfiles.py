"""A run's lineage: what it executed, recorded when it is snapshotted, repeated by a re-run."""

from __future__ import annotations

import json
import os
import subprocess

from jobs_helpers import add_job, add_run, write_notebook

from nbplatform_jobs import runfiles, store
from nbplatform_jobs.api.common import run_of_token
from nbplatform_jobs.settings import JobsSettings

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]


def settings_for(home) -> JobsSettings:
    return JobsSettings.from_env({"NBP_HOME": str(home), "NBP_ISOLATION": "off"})


def test_a_runs_lineage_is_recorded_passed_on_and_repeated(home, engine):
    workspace = home / "users" / "alice"
    write_notebook(workspace / "flows" / "train.ipynb")
    subprocess.run([*GIT, "init", "-q", str(workspace)], check=True)
    subprocess.run([*GIT, "-C", str(workspace), "add", "flows/train.ipynb"], check=True)
    subprocess.run([*GIT, "-C", str(workspace), "commit", "-qm", "m"], check=True)
    head = subprocess.check_output(["git", "-C", str(workspace), "rev-parse", "HEAD"], text=True)
    settings = settings_for(home)
    job = add_job(engine, name="n", owner="alice", notebook="flows/train.ipynb")
    run = add_run(engine, job)
    run_dir = runfiles.snapshot(settings, job, run)
    lineage = runfiles.run_lineage(run_dir)
    assert lineage == {
        "notebook": "flows/train.ipynb",
        "git_commit": head.strip(),
        "git_dirty": False,
    }
    env = runfiles.run_env(job, run, "tok", "http://p/", lineage)
    assert env["NBP_NOTEBOOK"] == "flows/train.ipynb"
    assert (env["NBP_GIT_COMMIT"], env["NBP_GIT_DIRTY"]) == (head.strip(), "false")

    # The token's run tells the platform service what the run executes.
    with engine.begin() as conn:
        store.update_run(conn, run["id"], token_id="t1", **lineage)
        origin = run_of_token(conn, "t1")
        assert run_of_token(conn, "unknown") == {}
    assert origin == {
        "job_id": job["id"],
        "run_id": run["id"],
        "profile": job["profile"],
        "notebook": "flows/train.ipynb",
        "git_commit": head.strip(),
        "git_dirty": False,
    }

    # A change not committed: the next first attempt says so ...
    (workspace / "flows" / "train.ipynb").write_text(
        json.dumps({**json.loads((workspace / "flows" / "train.ipynb").read_text()), "x": 1})
    )
    later = add_run(engine, job)
    assert runfiles.run_lineage(runfiles.snapshot(settings, job, later))["git_dirty"] is True
    # ... and a re-run of the first repeats its input and its lineage.
    with engine.begin() as conn:
        again = store.insert_run(conn, job, "rerun", source_run_id=run["id"])
    assert runfiles.run_lineage(runfiles.snapshot(settings, job, again)) == lineage


def test_outside_git_a_run_names_only_its_notebook(home, engine):
    job = add_job(engine, name="n", owner="alice", notebook="t.ipynb")
    run = add_run(engine, job)
    lineage = runfiles.run_lineage(runfiles.snapshot(settings_for(home), job, run))
    assert lineage == {"notebook": "t.ipynb", "git_commit": None, "git_dirty": None}
    env = runfiles.run_env(job, run, "tok", "http://p/", lineage)
    assert env["NBP_NOTEBOOK"] == "t.ipynb" and "NBP_GIT_COMMIT" not in env


def test_run_folders_are_closed_whatever_the_umask(home, engine):
    write_notebook(home / "users" / "alice" / "n.ipynb")
    job = add_job(engine, name="n", owner="alice", notebook="n.ipynb")
    previous = os.umask(0o022)
    try:
        run_dir = runfiles.snapshot(settings_for(home), job, add_run(engine, job))
    finally:
        os.umask(previous)
    for folder in (home / "jobs", run_dir.parent, run_dir):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_a_run_starts_in_its_notebooks_folder(home, engine):
    workspace = home / "users" / "alice"
    write_notebook(workspace / "flows" / "daily" / "n.ipynb")
    write_notebook(workspace / "top.ipynb")
    (workspace / "away").symlink_to(home)  # a folder out of the workspace
    settings = settings_for(home)
    for notebook, cwd in [
        ("flows/daily/n.ipynb", workspace / "flows" / "daily"),
        ("top.ipynb", workspace),
    ]:
        job = add_job(engine, name=notebook.replace("/", "-"), owner="alice", notebook=notebook)
        spec = json.loads(
            (runfiles.snapshot(settings, job, add_run(engine, job)) / "run.json").read_text()
        )
        assert (spec["cwd"], spec["home"]) == (str(cwd), str(workspace))
    assert runfiles.notebook_folder(workspace, "gone/n.ipynb") == workspace
    assert runfiles.notebook_folder(workspace, "away/n.ipynb") == workspace


def test_a_platform_notebook_is_snapshotted_from_the_package_and_runs_in_the_workspace(
    home, engine
):
    from nbplatform.notebook_templates import template

    workspace = home / "users" / "alice"
    subprocess.run([*GIT, "init", "-q", str(workspace)], check=True)  # not the notebook's repo
    settings = settings_for(home)
    for owner in ("alice", "newcomer"):  # newcomer has no workspace yet
        job = add_job(
            engine,
            name=f"review-{owner}",
            owner=owner,
            notebook="nbplatform:review_promotion.ipynb",
        )
        run = add_run(engine, job, parameters={"model_name": "churn", "version": "2"})
        run_dir = runfiles.snapshot(settings, job, run)
        source = template("review_promotion.ipynb")
        assert (run_dir / "input.ipynb").read_bytes() == source.read_bytes()
        assert runfiles.run_lineage(run_dir) == {
            "notebook": "nbplatform:review_promotion.ipynb",
            "git_commit": None,
            "git_dirty": None,
        }
        spec = json.loads((run_dir / "run.json").read_text())
        owner_workspace = home / "users" / owner
        assert (spec["cwd"], spec["home"]) == (str(owner_workspace), str(owner_workspace))
        assert owner_workspace.is_dir()
        parameters = json.loads((run_dir / "parameters.json").read_text())
        assert parameters == {"model_name": "churn", "version": "2"}
        env = runfiles.run_env(job, run, "tok", "http://p/", runfiles.run_lineage(run_dir))
        assert env["NBP_NOTEBOOK"] == "nbplatform:review_promotion.ipynb"
        assert "NBP_GIT_COMMIT" not in env
