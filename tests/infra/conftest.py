"""One synth of the CDK app (both envs, four stacks) per test session, in a temp directory, with cdk-nag
as at `make infra-synth`: the templates and the validation report the tests read."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from spacex_platform.settings import ENVS, Settings, stack_names
from support.tiers import refuse_slow_fixtures


def pytest_runtest_setup(item) -> None:
    """tests/infra starts no JVM and no server either (`make test-fast`)."""
    refuse_slow_fixtures(item, "infra")


@dataclass(frozen=True)
class Assembly:
    outdir: Path
    templates: dict[str, dict]  # stack name -> template
    report: dict  # validation-report.json: cdk-nag and CloudFormation Validate

    def template(self, env: str, kind: str) -> dict:
        """kind: data | cluster"""
        return self.templates[f"spacex-{env}-{kind}"]

    def resources(self, env: str, kind: str, type_: str) -> dict[str, dict]:
        return {
            logical_id: resource
            for logical_id, resource in self.template(env, kind)["Resources"].items()
            if resource["Type"] == type_
        }


@pytest.fixture(scope="session")
def assembly(tmp_path_factory) -> Assembly:
    pytest.importorskip("aws_cdk", reason="the infra extra is not installed (make install-dev)")
    if not shutil.which("node"):
        pytest.skip(
            "Node.js is not installed: the CDK (jsii) needs it to synthesize infra/ (.ci/run installs it)"
        )
    from spacex_platform.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(outdir).synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    templates = {
        name: json.loads((outdir / f"{name}.template.json").read_text())
        for env in ENVS
        for name in stack_names(env)
    }
    return Assembly(outdir, templates, json.loads((outdir / "validation-report.json").read_text()))


@pytest.fixture(scope="session")
def settings() -> dict[str, Settings]:
    return {env: Settings.load(env) for env in ENVS}
