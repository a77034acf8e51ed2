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
