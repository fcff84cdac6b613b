package bot_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// benchSenders sends every method after a fixed latency (a provider's
// API round trip) and notes when each person got their first message.
type benchSenders struct {
	latency time.Duration
	mu      sync.Mutex
	first   map[string]time.Time
	sent    int
	all     chan struct{}
	want    int
}

func (s *benchSenders) note(who string) error {
	time.Sleep(s.latency)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.first[who]; !ok {
		s.first[who] = time.Now()
	}
	if s.sent++; s.sent == s.want {
		close(s.all)
	}
	return nil
}

func (s *benchSenders) SendSMS(_ context.Context, to, _, _ string) (string, error) {
	return "SM1", s.note(to)
}
func (s *benchSenders) Mail(_ context.Context, m bot.MailPage) error { return s.note(m.To) }
func (s *benchSenders) Push(_ context.Context, t bot.PushTarget, _ bot.PushPage) error {
	return s.note(t.URL)
}

// BenchmarkPageThousand: 1,000 incidents open at once, each paging its
// own team's on-call person (1,000 people) by push, e-mail and SMS at
// once; every send takes the given latency. Reports the time from the
// incidents' first step being due to each person's first message (p50,
// p99) and to the last of the 3,000 messages.
//
//	go test -run '^$' -bench PageThousand -benchtime 1x ./bot
func BenchmarkPageThousand(b *testing.B) {
	for _, st := range []struct {
		name  string
		store func(testing.TB) incidents.Store
	}{{"bolt", boltStore}, {"redis", redisStore}} {
		for _, lat := range []time.Duration{0, 100 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/latency=%s", st.name, lat), func(b *testing.B) {
				for range b.N {
					pageThousand(b, st.store(b), lat)
				}
			})
		}
	}
}

func pageThousand(b *testing.B, store incidents.Store, latency time.Duration) {
	b.StopTimer()
	const n = 1000
	cfg := bot.DefaultConfig()
	cfg.Server.PublicURL = "https://klaxon.example.com"
	cfg.Twilio = &bot.TwilioConfig{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "twilio-auth-0123456789abcdef", From: "+15550000000", APIURL: "https://api.twilio.invalid"}
	cfg.SMTP = &bot.SMTPConfig{Host: "smtp.example.com", From: "klaxon@example.com", TLS: "starttls"}
	cfg.Policies = []bot.PolicyConfig{{Name: "p", Steps: []bot.StepConfig{{Page: "oncall"}}}}
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		cfg.People = append(cfg.People, bot.PersonConfig{Name: name, SMS: fmt.Sprintf("+1555%07d", i), Email: name + "@example.com",
			Push: "https://ntfy.example.com/" + name, Rules: []bot.RuleConfig{{Push: dur(0)}, {Email: dur(0)}, {SMS: dur(0)}}})
		cfg.Schedules = append(cfg.Schedules, bot.ScheduleConfig{Name: "s" + name, Timezone: "UTC",
			Rotation: &bot.RotationConfig{Every: bot.Duration(24 * time.Hour), Start: "2026-01-01T00:00:00Z", People: []string{name}}})
		cfg.Teams = append(cfg.Teams, bot.TeamConfig{Name: "t" + name, Policy: "p", Schedule: "s" + name})
	}
	cfg.DefaultTeam = "tp0"
	senders := &benchSenders{latency: latency, first: map[string]time.Time{}, all: make(chan struct{}), want: 3 * n}
	srv, err := bot.New(cfg, bot.Deps{Store: store, Logger: discardLogger(), SMS: senders, Mailer: senders, Pusher: senders})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	ids := make([]string, n)
	inParallel(n, 32, func(i int) {
		batch := storetest.Batch(fmt.Sprintf("page-%d", i), storetest.Alert(fmt.Sprintf("fp-%d", i), incidents.AlertFiring, now))
		batch.Team = fmt.Sprintf("tp%d", i)
		opts := storetest.Opts(now)
		opts.Start = func(inc *incidents.Incident, _ time.Time) {
			inc.Escalation = &incidents.Escalation{Policy: "p", DueAt: now.Add(time.Hour)} // due when the timer starts
		}
		r, err := store.Ingest(context.Background(), batch, opts)
		if err != nil {
			b.Error(err)
			return
		}
		ids[i] = r.Incident.ID
	})
	// Make every page step due now, at once.
	start := time.Now()
	inParallel(n, 32, func(i int) {
		if _, err := store.Update(context.Background(), ids[i], func(inc *incidents.Incident) error {
			inc.Escalation.DueAt = start
			return nil
		}); err != nil {
			b.Error(err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.StartTimer()
	go func() { defer close(done); srv.Run(ctx) }()
	select {
	case <-senders.all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d messages sent in 5 minutes", senders.sent, senders.want)
	}
	last := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	var firsts []time.Duration
	for _, at := range senders.first {
		firsts = append(firsts, at.Sub(start))
	}
	slices.Sort(firsts)
	b.ReportMetric(float64(firsts[len(firsts)/2].Milliseconds()), "first-p50-ms")
	b.ReportMetric(float64(firsts[len(firsts)*99/100].Milliseconds()), "first-p99-ms")
	b.ReportMetric(float64(last.Milliseconds()), "all-3000-ms")
}
