from __future__ import annotations

import subprocess

from nbplatform import lineage


def test_tags_from_the_kernel_environment(tmp_path):
    env = {
        "NBP_HOME": str(tmp_path),
        "JUPYTERHUB_USER": "alice",
        "JPY_SESSION_NAME": str(tmp_path / "users" / "alice" / "work" / "train.ipynb"),
        "NBP_PROFILE": "cpu-small",
        "NBP_JOB_ID": "j1",
        "NBP_RUN_ID": "r1",
    }
    tags = lineage.lineage_tags(env)
    assert tags["nbp.notebook"] == "work/train.ipynb" == tags["mlflow.source.name"]
    assert tags["nbp.user"] == "alice" and tags["nbp.profile"] == "cpu-small"
    assert tags["nbp.job_id"] == "j1" and tags["nbp.job_run_id"] == "r1"
    headers = lineage.origin_headers(env)
    assert headers["X-Nbp-Job-Id"] == "j1" and headers["X-Nbp-Notebook"] == "work/train.ipynb"


def test_git_commit_only_inside_a_repository(tmp_path):
    assert lineage.git_commit(tmp_path) is None
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "m",
        ],
        check=True,
    )
    assert len(lineage.git_commit(tmp_path) or "") == 40


def test_not_on_platform_without_kernel_or_job():
    assert not lineage.on_platform({})
    assert lineage.on_platform({"NBP_KERNEL_PRELOADED": "1"})


def _commit(repo, *files):
    subprocess.run(["git", "-C", str(repo), "add", *files], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "m"],
        check=True,
    )


def test_git_state_tells_a_clean_repository_from_a_dirty_one(tmp_path):
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    notebook = repo / "flows" / "train.ipynb"
    notebook.write_text("{}")
    assert lineage.git_state(notebook) == (None, None)  # no commit yet
    _commit(repo, "flows/train.ipynb")
    commit, dirty = lineage.git_state(notebook)
    assert len(commit or "") == 40 and dirty is False
    (repo / "scratch.txt").write_text("untracked files elsewhere do not count")
    assert lineage.git_state(notebook) == (commit, False)
    notebook.write_text('{"changed": 1}')
    assert lineage.git_state(notebook) == (commit, True)
    _commit(repo, "flows/train.ipynb")
    new = repo / "flows" / "new.ipynb"
    new.write_text("{}")
    assert lineage.git_state(new)[1] is True  # the notebook itself is not committed


def test_git_runs_no_program_a_repository_names(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "t.ipynb").write_text("{}")
    _commit(repo, "t.ipynb")
    marker = tmp_path / "ran"
    subprocess.run(
        ["git", "-C", str(repo), "config", "core.fsmonitor", f"touch {marker}; false"], check=True
    )
    assert lineage.git_state(repo / "t.ipynb")[1] is False
    assert not marker.exists()


def test_a_jobs_lineage_comes_from_its_environment(tmp_path):
    env = {
        "NBP_JOB_ID": "j1",
        "NBP_RUN_ID": "r1",
        "JUPYTERHUB_USER": "alice",
        "NBP_NOTEBOOK": "flows/train.ipynb",
        "NBP_GIT_COMMIT": "c" * 40,
        "NBP_GIT_DIRTY": "true",
    }
    tags = lineage.lineage_tags(env)
    assert tags["nbp.notebook"] == tags["mlflow.source.name"] == "flows/train.ipynb"
    assert tags["mlflow.source.type"] == "JOB"
    assert tags["mlflow.source.git.commit"] == "c" * 40 and tags["nbp.git_dirty"] == "true"
