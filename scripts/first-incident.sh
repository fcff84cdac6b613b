#!/usr/bin/env bash
# Measures the README's "first incident in under a minute" on this machine:
# from a fresh clone of this repository (modules already downloaded) and an
# empty Go build cache, the time from `go run ./cmd/klaxon serve` to INC-1
# listed by `klaxon list`. Run it from the repository: bash scripts/first-incident.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'kill -- -$serve 2>/dev/null || true; rm -rf "$work"' EXIT
git clone -q "$repo" "$work/klaxon"
cd "$work/klaxon"
go mod download                                  # "modules downloaded": not part of the minute
export GOCACHE="$work/gocache"                   # an empty build cache
export XDG_CONFIG_HOME="$work/config"            # serve's local token, not in your ~/.config
port=$(( 20000 + RANDOM % 20000 ))
url="http://127.0.0.1:$port"
start=$(date +%s.%N)
# In a process group of its own: go run leaves the klaxon it started
# running when it is killed, so the group is what the trap stops.
setsid go run ./cmd/klaxon serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>"$work/serve.log" &
serve=$!
until curl -fs "$url/healthz" >/dev/null 2>&1; do
	kill -0 "$serve" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
	sleep 0.2
done
up=$(date +%s.%N)
go run ./cmd/klaxon fire --url "$url" >/dev/null
go run ./cmd/klaxon list --url "$url" | grep -q INC-1
done=$(date +%s.%N)
cores=$(nproc)
load=$(cut -d' ' -f1 /proc/loadavg)
printf 'serve answered after %.0f s; INC-1 listed after %.0f s (%s cores, load %s, %s)\n' \
	"$(echo "$up - $start" | bc)" "$(echo "$done - $start" | bc)" "$cores" "$load" "$(go version | cut -d' ' -f3)"
