# airlock: `make run` starts the gateway on embedded defaults with a demo
# database; `make test` runs every test, installing what the tests need.

GO        ?= go
BIN       := bin/airlock
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test test-deps unit conformance lint bench race clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/airlock

run: build test-deps-pg
	./$(BIN) dev

# PostgreSQL only: enough for `make run`.
test-deps-pg:
	@bash scripts/install-test-deps.sh --postgres-only

test-deps:
	@bash scripts/install-test-deps.sh

test: test-deps lint unit conformance

unit:
	$(GO) test -count=1 -timeout 20m ./...

conformance:
	bash scripts/conformance.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

race:
	$(GO) test -race -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3s -timeout 30m ./internal/bench/

clean:
	rm -rf bin
