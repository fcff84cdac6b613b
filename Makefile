# Everything here is a shortcut for a plain go command shown in README.md.
.PHONY: run test build bench fuzz load check

run: ## run klaxon with the embedded store on 127.0.0.1:8080
	go run ./cmd/klaxon serve

test: ## the test suite (needs Redis at 127.0.0.1:6379, or KLAXON_TEST_REDIS_URL)
	go test -race ./...

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o bin/klaxon ./cmd/klaxon
	CGO_ENABLED=0 go build -trimpath -o bin/klaxon-load ./cmd/klaxon-load

bench: ## the ingest benchmarks (minutes: includes 100,000 stored incidents)
	go test -run '^$$' -bench BenchmarkIngest -benchtime 20000x -timeout 60m ./bot/

fuzz: ## fuzz the parsers of outside input
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./adapters/alertmanager/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./adapters/grafana/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 60s ./adapters/webhook/
	go test -run '^$$' -fuzz '^FuzzVerifyHMAC$$' -fuzztime 30s ./bot/
	go test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime 60s ./bot/
	go test -run '^$$' -fuzz '^FuzzCard$$' -fuzztime 60s ./templates/
	go test -run '^$$' -fuzz '^FuzzVerifyButtonKey$$' -fuzztime 30s ./bot/
	go test -run '^$$' -fuzz '^FuzzParseCommand$$' -fuzztime 60s ./bot/
	go test -run '^$$' -fuzz '^FuzzParseCommand$$' -fuzztime 30s ./adapters/telegram/
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime 30s ./adapters/slack/
	go test -run '^$$' -fuzz '^FuzzInteractions$$' -fuzztime 30s ./adapters/slack/
	for p in slack mattermost telegram; do \
		go test -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime 60s ./adapters/$$p/ && \
		go test -run '^$$' -fuzz '^FuzzReplyText$$' -fuzztime 30s ./adapters/$$p/ || exit 1; \
	done

check: ## what CI runs
	bash .ci/run
