package bot_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// BenchmarkSMSReplyScan: a "1" with no ID from a person, with n
// incidents open that klaxon texted someone about: the handler verifies
// the signature, spends the MessageSid and reads every open incident's
// pages to find the latest texted to them (here none: the whole scan,
// then the answer).
//
//	go test -run '^$' -bench SMSReplyScan -benchtime 200x ./bot
func BenchmarkSMSReplyScan(b *testing.B) {
	for _, st := range []struct {
		name  string
		store func(testing.TB) incidents.Store
	}{{"bolt", boltStore}, {"redis", redisStore}} {
		for _, n := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/open=%d", st.name, n), func(b *testing.B) {
				e := newSMSEnv(b, st.store(b))
				for i := range n {
					inc := e.openAt(fmt.Sprintf("bench-%d", i))
					e.texted(inc.ID, "alice", t0.Add(time.Duration(i)*time.Second))
				}
				e.stop() // the schedulers idle: only the reply is measured
				b.ResetTimer()
				for range b.N {
					if got := e.text(bobSMS, "1"); got == "" {
						b.Fatal("no answer")
					}
				}
			})
		}
	}
}
