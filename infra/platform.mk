# The AWS platform as code (infra/README.md), included by the Makefile: a CDK app synthesized with plain
# Python (no account, no credentials), deployed with the CDK CLI pinned in infra/package.json.
# ENV=dev|prod; prod only in CI.
.PHONY: infra-synth infra-bootstrap infra-deploy platform-outputs eksctl-config tools actionlint
PLATFORM = PYTHONPATH=infra $(PY) -m spacex_platform
CDK_CLI := infra/node_modules/.bin/cdk
CDK_APPROVAL ?= broadening
OUTPUTS ?=
CHECK ?=
ACTIONLINT := $(VENV)/bin/actionlint

infra-synth: install-dev ## write both envs' CloudFormation templates to infra/cdk.out/ (offline; fails on cdk-nag findings)
	cd infra && ../$(PY) app.py

$(CDK_CLI): infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund
	@touch $@

infra-bootstrap: install-dev $(CDK_CLI) ## once per account and region of ENV: the CDK's deploy roles and asset bucket
	target="$$($(PLATFORM) target --env $(ENV))" && cd infra && ./node_modules/.bin/cdk bootstrap "$$target"

infra-deploy: install-dev $(CDK_CLI) ## deploy ENV's stacks (the cluster stack once the EKS cluster exists) [CDK_APPROVAL=never]
	@if [ "$(ENV)" = prod ] && [ "$${CI:-}" != true ]; then echo "refusing to deploy prod outside automation (CI=true)" >&2; exit 2; fi
	stacks="$$($(PLATFORM) stacks --env $(ENV))" && cd infra && \
		./node_modules/.bin/cdk deploy --require-approval $(CDK_APPROVAL) $$stacks

platform-outputs: install ## write conf/ENV.outputs.yaml from the deployed stacks [OUTPUTS=cdk-outputs.json] [CHECK=1: compare only]
	$(PLATFORM) outputs --env $(ENV) $(if $(OUTPUTS),--from $(OUTPUTS)) $(if $(CHECK),--check)

eksctl-config: install ## print k8s/eksctl/cluster-ENV.yaml with the data stack's VPC filled in (| eksctl create cluster -f -)
	@$(PLATFORM) eksctl-config --env $(ENV)

# actionlint (GitHub workflows) is built with Go through the Go module proxy; without Go its test skips.
$(ACTIONLINT):
	@if command -v go >/dev/null; then GOBIN=$(abspath $(VENV))/bin go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7 \
		|| echo "actionlint: go install failed (tests/infra/test_workflows.py will say so)"; \
		else echo "actionlint: Go is not installed: the workflow check is skipped"; fi

tools: $(ACTIONLINT) ## build what the tests need beyond pip: actionlint (with Go)

actionlint: $(ACTIONLINT) ## check .github/workflows with actionlint
	$(ACTIONLINT) -no-color
