# kubectl-wi. `make test` is the test command (CI runs it); `make demo` shows the plugin on a
# local cluster. Heavy builds (Kubernetes, MinIO) are cached under $(WI_CACHE).
MODULE   := github.com/kubectl-wi/kubectl-wi
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export WI_CACHE ?= $(HOME)/.cache/kubectl-wi
export WI_STATE ?= $(WI_CACHE)/cluster
TOOLS    := $(CURDIR)/hack/tools/bin
GOLANGCI_LINT := $(TOOLS)/golangci-lint
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := $(TOOLS)/actionlint-$(ACTIONLINT_VERSION)
# The version a release dry run builds for: a semantic version, as krew and the tags want.
RELEASE_VERSION ?= v0.0.0-dev
GO_TEST  := go test
VALIDATE_KREW_MANIFEST := $(TOOLS)/validate-krew-manifest
# krew/wi.yaml is rendered for this fixed version (krew wants a semantic version), so it changes
# only when the template or the archives do.
KREW_DEV_VERSION := v0.0.0-dev
# Where releases publish the probe image, read from its one definition in the Go source;
# verify's --image default is $(IMAGE_REPO):$(VERSION). A fork that publishes elsewhere sets
# PROBE_REPO (make dist PROBE_REPO=registry.example.com/kubectl-wi), which is stamped instead.
IMAGE_REPO := $(shell bash -c '. hack/lib.sh && image_repository')
export PROBE_REPO ?=
LDFLAGS  = $(shell VERSION=$(VERSION) PROBE_REPO=$(PROBE_REPO) hack/ldflags.sh)
PROBE_IMAGE_TAR := dist/kubectl-wi-image_$(VERSION).tar
MKIMAGE_OCI = go run ./hack/cmd/mkimage -format oci -platform linux/amd64,linux/arm64 -entrypoint /wi-probe
PROBE_SRC := 'dist/build/{os}_{arch}/wi-probe:/wi-probe'

.PHONY: promtool-check
.PHONY: all build unit e2e e2e-default e2e-eks e2e-after-demo preflight test fuzz fuzz-brief chaos lint demo cluster-up cluster-down deps verify tools
.PHONY: bench-status
.PHONY: bench-explain
.PHONY: bench-verify
.PHONY: bench-enable
.PHONY: bench-podidentity
.PHONY: bench-probe-image
.PHONY: bench-monitor
.PHONY: dist krew krew-test probe-image probe-image-push release release-dry-run lint-workflows
all: build

# bin/wi-probe is the probe of the image (cmd/wi-probe): the local cluster's registry serves it.
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kubectl-wi ./cmd/kubectl-wi
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/wi-probe ./cmd/wi-probe

# The test bed's Go apps are modules of their own (hack/testapps/README.md), which ./... skips.
unit:
	go vet ./...
	$(GO_TEST) -race -count=1 ./...
	cd hack/testapps/sdkapp && go vet ./... && $(GO_TEST) -race -count=1 ./...

# e2e brings a fresh local cluster up, runs the e2e tests on it, and tears it down on any exit;
# once with the pod identity webhook stand-in as the real webhook runs by default, once as EKS
# runs it (regional STS on, a lagging service account cache, Pod Identity associations).
# GOTEST_ARGS go to go test (e.g. GOTEST_ARGS='-run TestVerify'); E2E_KEEP_LOGS=DIR keeps a
# copy of the cluster's logs there.
e2e: e2e-default e2e-eks

e2e-default e2e-eks: e2e-%: build
	WI_WEBHOOK_PROFILE=$* hack/e2e.sh $(GOTEST_ARGS)

# preflight refuses in its first second what would stop the e2e tests later; the e2e run under
# the default profile starts after make demo, as a newcomer runs the README's two commands.
test: preflight lint lint-workflows unit promtool-check fuzz-brief krew-test e2e-after-demo e2e-eks

preflight:
	hack/preflight.sh

e2e-after-demo: build
	hack/demo-then-e2e.sh $(GOTEST_ARGS)

# The monitor's alert rules through `promtool check rules` and a scrape of its metrics through
# `promtool check metrics`, with Debian's promtool (make deps installs it). Part of make test.
promtool-check:
	@command -v promtool >/dev/null || { echo "promtool is not installed: make deps (hack/deps.sh)" >&2; exit 1; }
	PROMTOOL=$$(command -v promtool) $(GO_TEST) -count=1 -run '^TestPromtool' ./pkg/monitorinstall/ ./pkg/monitor/

# Every fuzz target for FUZZTIME each (make fuzz FUZZTIME=5m for longer); make test runs each
# for a few seconds. Crashers stay in the package's testdata/fuzz as regression cases.
FUZZTIME ?= 60s
fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

fuzz-brief:
	FUZZTIME=3s hack/fuzz.sh

# The fault tests on a fresh cluster, verbose so their summaries show: verify interrupted at
# random moments (WI_CHAOS_RUNS, default 50: where each run stopped, exits, probe pods left
# behind), and each fault of TestChaosFaults WI_CHAOS_FAULT_RUNS times (default 3 here, 1 in
# make test: runs, diagnoses as expected, probe pods left, writes lost). make test runs them
# too, inside make e2e.
chaos: build
	WI_CHAOS_FAULT_RUNS=$${WI_CHAOS_FAULT_RUNS:-3} hack/e2e.sh -run TestChaos -v

# Release archives dist/kubectl-wi_$(VERSION)_<os>_<arch>.tar.gz for the five krew platforms.
dist:
	VERSION=$(VERSION) hack/dist.sh

$(VALIDATE_KREW_MANIFEST):
	hack/install-krew.sh

# krew/wi.yaml: .krew.yaml rendered for this tree's archives of $(KREW_DEV_VERSION), then
# `kubectl krew install --manifest=krew/wi.yaml --archive=dist/kubectl-wi_$(KREW_DEV_VERSION)_linux_amd64.tar.gz`.
krew: $(VALIDATE_KREW_MANIFEST)
	VERSION=$(KREW_DEV_VERSION) hack/dist.sh
	go run ./hack/cmd/krew-manifest -version $(KREW_DEV_VERSION) -o krew/wi.yaml dist/kubectl-wi_$(KREW_DEV_VERSION)_*.tar.gz
	$(VALIDATE_KREW_MANIFEST) -manifest krew/wi.yaml -skip-install

# Installs the linux/amd64 archive with krew, offline, and runs it through kubectl.
krew-test:
	hack/krew-test.sh

# The probe image of a release, linux/amd64 and linux/arm64 under the tag $(VERSION), as an OCI
# image layout tarball; probe-image-push PUSH_REPO=<registry>/kubectl-wi pushes it (release only).
probe-image:
	VERSION=$(VERSION) hack/dist.sh linux/amd64 linux/arm64
	$(MKIMAGE_OCI) -ref $(or $(PROBE_REPO),$(IMAGE_REPO)):$(VERSION) -out $(PROBE_IMAGE_TAR) $(PROBE_SRC)

probe-image-push:
	@test -n "$(PUSH_REPO)" || { echo "usage: make probe-image-push PUSH_REPO=<registry>/kubectl-wi [VERSION=vX.Y.Z]" >&2; exit 2; }
	VERSION=$(VERSION) hack/dist.sh linux/amd64 linux/arm64
	$(MKIMAGE_OCI) -push $(PUSH_REPO):$(VERSION) $(PROBE_SRC)

# Every artefact the release workflow publishes for RELEASE_VERSION, built locally into dist/:
# the five archives, the probe image as an OCI tarball, the rendered krew manifest, checksums.
release-dry-run:
	VERSION=$(RELEASE_VERSION) hack/release.sh

# What .github/workflows/release.yml runs on a v* tag: the dry run, then the image pushed.
release:
	VERSION=$(RELEASE_VERSION) hack/release.sh --push

$(ACTIONLINT):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mv $(TOOLS)/actionlint $(ACTIONLINT)

# actionlint on .github/workflows (part of make test).
lint-workflows: $(ACTIONLINT)
	$(ACTIONLINT)

deps:
	hack/deps.sh

cluster-up: build
	hack/cluster-up.sh

cluster-down:
	hack/cluster-down.sh

demo: build
	hack/demo.sh

# Seeds the local cluster (brought up if none runs) with 1,000 service accounts and 5,000
# Pending pods, and prints the wall time and peak RSS of five `status -A` runs. Not in `make test`.
bench-status: build
	hack/bench-status.sh

# 200 service accounts on 20 roles of the AWS stand-in: explain's wall time and AWS calls
# (about one per distinct role), then the same 200 proven by --exchange. Not in `make test`.
bench-explain: build
	hack/bench-explain.sh

# Ten runs of verify on the local cluster (brought up when none runs): the median of each step,
# create -> scheduled -> running -> first event -> verdict -> pod gone, the plugin's overhead
# after the pod runs, and the probe image's size. Not in `make test`; RUNS=N for more.
bench-verify: build
	hack/bench-verify.sh

# kubectl-wi monitor run over 200 identity accounts for 10 minutes on the running local
# cluster: apiserver requests per minute by verb, probe pods per minute, the monitor's peak
# memory. Not in `make test`; ACCOUNTS=N DURATION=S for other sizes.
bench-monitor: build
	hack/bench-monitor.sh

# enable -l on 500 service accounts, each with a Deployment, against a kubectl annotate +
# rollout restart loop on as many, on the local cluster: wall times, ratio and API request
# counts (LISTs also at N=100). Not in `make test`.
bench-enable: build
	hack/bench-enable.sh

# EKS Pod Identity on the local cluster under the EKS profile (brought up when none runs): the
# median of RUNS verify runs through the agent, and the wall time of migrating WORKLOADS IRSA
# Deployments to Pod Identity, and of its rerun. Not in `make test`.
bench-podidentity: build
	hack/bench-podidentity.sh

# The probe image's compressed size for linux/amd64 and linux/arm64, and the cold pull of a
# probe pod (create to started, BENCH_RUNS=3 each), against the whole plugin's image from
# before cmd/wi-probe, on the running local cluster. Not in `make test`.
bench-probe-image: build
	hack/bench-probe-image.sh

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

verify:
	go mod tidy && git diff --exit-code go.mod go.sum
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
