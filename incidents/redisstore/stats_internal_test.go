package redisstore

import (
	"testing"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// Stats reads IDs and records in pages; with pages of 3 the suite's
// Stats tests cross many of them, and the limit is reached mid-way.
func TestStatsInSmallPages(t *testing.T) {
	defer func(n int) { statsPage = n }(statsPage)
	statsPage = 3
	newStore := func(t testing.TB, max int) incidents.Store {
		rdb := storetest.Redis(t)
		prefix := storetest.Prefix("statspages")
		s := New(rdb, Options{Prefix: prefix, ReconcileEvery: -1, MaxStats: max})
		t.Cleanup(func() {
			s.Close()
			storetest.DeleteKeys(rdb, prefix)
		})
		return s
	}
	storetest.RunStats(t, func(t testing.TB) incidents.Store { return newStore(t, 0) }, storetest.WithMaxStats(newStore))
}
