"""The CI/CD workflows: actionlint finds nothing, and they are what the platform expects: tests on every
pull request; on main test -> dev (stacks, artifacts, smoke run) -> prod behind its protected
environment, each through the CI role its environment may assume, with the make targets a person uses."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from spacex_launches.common.settings import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if Path(found).is_file():
        return found
    if not shutil.which("go"):
        pytest.skip("actionlint is built with Go (`make tools`) and this machine has no Go")
    pytest.fail("actionlint is not built although Go is installed: run `make tools`")


def workflow(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1).
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True)
    return document


def run_steps(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def uses(job: dict) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def test_actionlint_finds_nothing():
    result = subprocess.run(
        [actionlint(), "-no-color", *map(str, FILES)], capture_output=True, text=True, cwd=PROJECT_DIR
    )
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr
    assert {path.name for path in FILES} == {"ci.yml", "deploy.yml"}


def test_actionlint_bites():
    broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n"
    result = subprocess.run([actionlint(), "-no-color", "-"], input=broken, capture_output=True, text=True)
    assert result.returncode == 1 and "no_such_thing" in result.stdout


def test_every_pull_request_runs_make_test_without_aws_access():
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"]
    assert ci["permissions"] == {"contents": "read"}
    (job,) = ci["jobs"].values()
    assert run_steps(job) == [".ci/run"] and "permissions" not in job and "environment" not in job


def test_actions_are_pinned_to_commits():
    for path in FILES:
        for job in workflow(path.name)["jobs"].values():
            for action in uses(job):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{path.name}: {action}"


def test_main_deploys_dev_then_prod_through_their_environments(settings):
    deploy = workflow("deploy.yml")
    assert deploy["on"]["push"] == {"branches": ["main"]}
    assert deploy["permissions"] == {"contents": "read"}
    assert deploy["concurrency"]["cancel-in-progress"] is False
    jobs = deploy["jobs"]
    assert run_steps(jobs["test"]) == [".ci/run"]
    assert (jobs["dev"]["needs"], jobs["prod"]["needs"]) == ("test", "dev")
    for env in ("dev", "prod"):
        job = jobs[env]
        assert job["environment"] == env, "the CI role trusts only this environment's OIDC subject"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        (credentials,) = [
            s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
        ]
        assert credentials["with"]["role-to-assume"] == settings[env].role_arn("ci-deploy")
        assert credentials["with"]["aws-region"] == settings[env].region
        steps = run_steps(job)
        assert all(step.startswith("make ") for step in steps), steps
        assert steps[:3] == [
            f"make infra-deploy ENV={env} CDK_APPROVAL=never",
            f"make platform-outputs ENV={env} CHECK=1",
            f"make deploy ENV={env}",
        ]
    (smoke,) = [step for step in run_steps(jobs["dev"]) if step.startswith("make submit")]
    assert "ENV=dev" in smoke and "WAIT=1" in smoke
    assert not [step for step in run_steps(jobs["prod"]) if "submit" in step], "prod runs are Airflow's"
    assert "id-token" not in str(jobs["test"])
