package bot

import "context"

// CheckHeartbeats runs one pass of s's heartbeat scheduler (sync, then
// the passed deadlines), as Run does every second.
func CheckHeartbeats(ctx context.Context, s *Server) error { return s.beats.tick(ctx) }
