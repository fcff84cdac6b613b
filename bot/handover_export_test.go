package bot

import (
	"context"
	"time"
)

// CheckHandovers runs one look of s's shift handover announcer, as Run
// does every few seconds; it is a no-op when no team announces handovers.
func CheckHandovers(ctx context.Context, s *Server) error {
	if s.handovers == nil {
		return nil
	}
	return s.handovers.tick(ctx)
}

// HandoverWaits makes s's announcer record the rate limiters' waits
// instead of sleeping them.
func HandoverWaits(s *Server, record func(time.Duration)) {
	s.handovers.sleep = func(_ context.Context, d time.Duration) { record(d) }
}

// CheckCoverRequests runs one look for unanswered cover requests, as Run
// does every few seconds.
func CheckCoverRequests(ctx context.Context, s *Server) error { return s.expireCovers(ctx) }
