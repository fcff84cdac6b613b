// Package attack is klaxon's attack suite: every hole found by attacking
// klaxon, reproduced against a real klaxon process built from this tree,
// so that it stays closed. It holds no code of its own; its tests build
// cmd/klaxon, run it under GOMEMLIMIT=256MiB with real Redis and the
// strict chat fakes, attack it on loopback, and check what must hold:
// authenticated webhooks are still answered, memory stays under budget,
// nothing is acted on twice, no identity is forged, and what was answered
// 200 is stored while what was answered 503 is not.
//
// The suite is slow (a few minutes): it runs in CI and with
// KLAXON_SLOW_TESTS=1 (go test ./attack/). Each test logs its figures
// (RSS, latencies); run with -v to see them.
package attack
