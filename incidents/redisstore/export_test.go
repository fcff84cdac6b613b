package redisstore

// SetStatsPage makes Stats read pages of n IDs and records (instead of
// 10,000) until the returned function restores it: for tests that cross
// many pages with few incidents.
func SetStatsPage(n int) (restore func()) {
	old := statsPage
	statsPage = n
	return func() { statsPage = old }
}
