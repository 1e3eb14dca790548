# kubectl-wi. `make test` is the test command (CI runs it); `make demo` shows the plugin on a
# local cluster. Heavy builds (Kubernetes, MinIO) are cached under $(WI_CACHE).
MODULE   := github.com/kubectl-wi/kubectl-wi
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X $(MODULE)/pkg/plugin.version=$(VERSION)
export WI_CACHE ?= $(HOME)/.cache/kubectl-wi
export WI_STATE ?= $(WI_CACHE)/cluster
TOOLS    := $(CURDIR)/hack/tools/bin
GOLANGCI_LINT := $(TOOLS)/golangci-lint
GO_TEST  := go test

.PHONY: all build unit e2e test lint demo cluster-up cluster-down deps verify tools
.PHONY: bench-status
.PHONY: bench-enable
all: build

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kubectl-wi ./cmd/kubectl-wi

unit:
	go vet ./...
	$(GO_TEST) -race -count=1 ./...

# e2e brings a fresh local cluster up, runs the e2e tests on it, and tears it down on any exit.
e2e: build
	hack/e2e.sh

test: unit e2e

deps:
	hack/deps.sh

cluster-up:
	hack/cluster-up.sh

cluster-down:
	hack/cluster-down.sh

demo: build
	hack/demo.sh

# Seeds the local cluster (brought up if none runs) with 1,000 service accounts and 5,000
# Pending pods, and prints the wall time and peak RSS of five `status -A` runs. Not in `make test`.
bench-status: build
	hack/bench-status.sh

# enable -l on 500 service accounts, each with a Deployment, against a kubectl annotate +
# rollout restart loop on as many, on the local cluster: wall times, ratio and API request
# counts (LISTs also at N=100). Not in `make test`.
bench-enable: build
	hack/bench-enable.sh

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

verify:
	go mod tidy && git diff --exit-code go.mod go.sum
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
