# Everything here is a shortcut for a plain go command shown in README.md.
.PHONY: run test build bench fuzz load check console-screenshots

run: ## run klaxon with the embedded store on 127.0.0.1:8080
	go run ./cmd/klaxon serve

test: ## the test suite (needs Redis at 127.0.0.1:6379, or KLAXON_TEST_REDIS_URL); KLAXON_SLOW_TESTS=1 adds the slow ones
	go test ./...

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o bin/klaxon ./cmd/klaxon
	CGO_ENABLED=0 go build -trimpath -o bin/klaxon-load ./cmd/klaxon-load

bench: ## the ingest benchmarks (minutes: includes 100,000 stored incidents)
	go test -run '^$$' -bench BenchmarkIngest -benchtime 20000x -timeout 60m ./bot/

fuzz: ## fuzz the parsers of outside input, a minute each
	bash .ci/fuzz 60

console-screenshots: ## regenerate the README's screenshots in docs/console (needs Chromium)
	KLAXON_SLOW_TESTS=1 KLAXON_SCREENSHOTS=$(CURDIR)/docs/console go test -count=1 -run TestConsoleBrowser ./cmd/klaxon/

check: ## what CI runs
	bash .ci/run
