# mitogend / fakessh. `make demo` runs the main job, `make test` passes the tests.
GO       ?= go
BIN      ?= bin
AGENTS   ?= linux-amd64 linux-arm64
# What the binaries say they are (fakessh -V, mitogend --version); `make VERSION=...` overrides.
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
COMMIT   := $(shell git rev-parse HEAD 2>/dev/null)
VPKG     := github.com/mitogen-go/mitogend/internal/version
LDFLAGS  := -s -w -X $(VPKG).version=$(VERSION) -X $(VPKG).commit=$(COMMIT)
FUZZTIME ?= 10s
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"

.PHONY: all build agents man install uninstall deb test test-short demo bench vet fuzz clean

all: build

build: agents
	$(GOBUILD) -o $(BIN)/fakessh ./cmd/fakessh
	$(GOBUILD) -o $(BIN)/mitogend ./cmd/mitogend

# One agent per target platform; the daemon picks one by the target's `uname -sm`.
agents:
	@for p in $(AGENTS); do \
		echo "agent $$p"; \
		GOOS=$${p%-*} GOARCH=$${p#*-} $(GOBUILD) -o $(BIN)/mitogen-agent.$$p ./cmd/mitogen-agent || exit 1; \
		gzip -9 -n -c $(BIN)/mitogen-agent.$$p >$(BIN)/mitogen-agent.$$p.gz || exit 1; \
	done

# fakessh.1 and mitogend.1 from the same sources as their help (internal/genman), for this
# machine whatever GOOS/GOARCH the binaries are built for.
man:
	GOOS= GOARCH= $(GO) run -ldflags "$(LDFLAGS)" ./internal/genman $(BIN)/man $(DOCDIR)

include install.mk

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 -timeout 30m ./...

# The unit layers only: e2e and sshd-backed tests skip under -short (a skip even under CI=true).
test-short:
	$(GO) test -count=1 -short ./...

# Every Fuzz target in the repo (found by go test -list, so new ones join in), each for
# FUZZTIME, one after another; the first failure stops the run.
fuzz:
	@list=$$($(GO) test -list '^Fuzz' ./...) || { echo "$$list"; exit 1; }; \
	echo "$$list" | awk '/^Fuzz/ { names = names " " $$1; next } /^ok/ { if (names != "") print $$2 names; names = "" }' | \
	while read -r pkg names; do \
		for name in $$names; do \
			echo "fuzz $$pkg $$name"; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg </dev/null || exit 1; \
		done; \
	done

demo: build
	./test/demo/demo.sh $(BIN)

# One table of fakessh beside OpenSSH (see README, Benchmarks), then the inner layers alone.
bench: build
	$(GO) test -run '^$$' -bench '^BenchmarkTable$$' -benchtime 1x -timeout 40m ./test/bench/
	$(GO) test -run '^$$' -bench '^BenchmarkInner' ./test/bench/

clean:
	rm -rf $(BIN)
