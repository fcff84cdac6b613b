// Package attack is klaxon's attack suite: every hole found by attacking
// klaxon (issue 13), reproduced against a real klaxon process built from
// this tree, so that it stays closed. It holds no code of its own; its
// tests build cmd/klaxon, run it under GOMEMLIMIT=256MiB with real Redis
// and the strict chat fakes, attack it on loopback, and check what must
// hold: authenticated webhooks are still answered, memory stays under
// budget, nothing is acted on twice, and what was answered 200 is stored
// while what was answered 503 is not.
//
// The twelve reproductions and where each is kept closed:
//
//  1. Slack replay by letter case, and every signed request's variants:
//     TestSlackReplayVariants (two replicas), TestSignedWebhookReplayVariants;
//     adapters/slack TestReplayVariants, bot TestWebhookHMACReplay.
//  2. Slow unauthenticated bodies blocking webhooks:
//     TestSlowUnauthenticatedBodiesDoNotBlockWebhooks,
//     TestUnauthenticatedTokenHookIsRefusedBeforeItsBody.
//  3. Memory without credentials: TestUnauthenticatedChatBodiesStayWithinMemory.
//  4. Memory with credentials, and 503 never stored:
//     TestLargeAuthenticatedBodiesStayWithinMemory; redisstore
//     TestPipelinerWaitsForAWriteOnTheWire, TestPipelinerDropsAJobNotYetSent.
//  5. Duplicate cards after kill -9: TestChaosNothingLostNothingDuplicated;
//     adapters/{slack,mattermost} TestFindWindow, cmd/klaxon TestCardFoundAfterCrash.
//  6. Incidents with many alerts breaking lists: TestListingWithHugeIncidents;
//     storetest's 50,000-alert conformance cases.
//  7. Forged Mattermost users: cmd/klaxon TestMattermostButtonChecks, bot
//     TestCheckButton, TestBoundKeyRejects.
//  8. Replayed Twilio status callbacks: bot TestCallStatusReplayed.
//  9. The API open by default: TestAPINeedsATokenBeyondLoopback; bot
//     TestAPIClosedBeyondLoopback.
//  10. Redis frozen: TestRedisFrozen.
//  11. Slack's response_url to any host: TestSlackResponseURLStaysOnSlack;
//     adapters/slack TestResponseURLAllowed.
//  12. An unknown start shown as 106751d: incidents
//     TestUnknownStartIsTheFirstArrival, templates TestCardAlertWithoutStart.
//
// Also: big and deep payloads (TestBigAndDeepPayloads); and, found in
// review since, loopback taken for "this machine" — a page of another
// site, DNS rebinding or a proxy on the same host acting on a klaxon with
// no config: TestThisMachineIsMoreThanLoopback; internal/localtrust
// TestRequest, bot TestAPIOpenOnLoopback, console TestLocalConsole.
//
// The suite is slow (a few minutes): it runs in CI and with
// KLAXON_SLOW_TESTS=1 (go test ./attack/). Each test logs its figures
// (memory, latencies); run with -v to see them.
package attack
