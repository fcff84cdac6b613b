package console

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/klaxonbot/klaxon/incidents"
)

// What the console keeps in this process when the store does not keep it
// for every replica: sessions and the links used (one replica only), and
// the rate limits of sign-in requests (per process by design).

// memorySessions keeps sessions by the hash of their ID.
type memorySessions struct {
	mu    sync.Mutex
	clock incidents.Clock
	m     map[[32]byte]incidents.Session
}

func newMemorySessions(clock incidents.Clock) *memorySessions {
	return &memorySessions{clock: clock, m: map[[32]byte]incidents.Session{}}
}

func (m *memorySessions) PutSession(_ context.Context, s incidents.Session) error {
	if s.ID == "" || s.Person == "" {
		return incidents.Errorf(incidents.Invalid, "a session needs an ID and a person")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	for k, v := range m.m { // sessions are few; sweep the expired ones
		if !now.Before(v.ExpiresAt) {
			delete(m.m, k)
		}
	}
	id := s.ID
	s.ID = ""
	m.m[sha256.Sum256([]byte(id))] = s
	return nil
}

func (m *memorySessions) GetSession(_ context.Context, id string) (incidents.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[sha256.Sum256([]byte(id))]
	if !ok || !m.clock.Now().Before(s.ExpiresAt) {
		return incidents.Session{}, incidents.Errorf(incidents.NotFound, "no such session")
	}
	s.ID = id
	return s, nil
}

func (m *memorySessions) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, sha256.Sum256([]byte(id)))
	return nil
}

// memoryOnce is incidents.Once in one process.
type memoryOnce struct {
	mu    sync.Mutex
	clock incidents.Clock
	m     map[string]onceEntry
}

type onceEntry struct {
	spent bool
	until time.Time
}

func newMemoryOnce(clock incidents.Clock) *memoryOnce {
	return &memoryOnce{clock: clock, m: map[string]onceEntry{}}
}

func (o *memoryOnce) ClaimOnce(_ context.Context, key string, hold time.Duration) (incidents.OnceState, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	if e, ok := o.m[key]; ok && now.Before(e.until) {
		if e.spent {
			return incidents.OnceSpent, nil
		}
		return incidents.OnceBusy, nil
	}
	if len(o.m) > 10000 {
		for k, e := range o.m {
			if !now.Before(e.until) {
				delete(o.m, k)
			}
		}
	}
	o.m[key] = onceEntry{until: now.Add(hold)}
	return incidents.OnceNew, nil
}

func (o *memoryOnce) SpendOnce(_ context.Context, key string, ttl time.Duration) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[key] = onceEntry{spent: true, until: o.clock.Now().Add(ttl)}
	return nil
}

func (o *memoryOnce) ReleaseOnce(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.m[key]; ok && !e.spent {
		delete(o.m, key)
	}
	return nil
}

// limiter bounds sign-in requests: per client (5 a minute, a burst of 5)
// and links per person (3 per 15 minutes), so that nobody floods a
// person's chat or tries links by the thousand.
type limiter struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
	people  map[string]*rate.Limiter
}

const maxLimited = 10000

func newLimiter() *limiter {
	return &limiter{clients: map[string]*rate.Limiter{}, people: map[string]*rate.Limiter{}}
}

func (l *limiter) allow(client string, now time.Time) bool {
	return l.take(l.clients, client, rate.Every(12*time.Second), 5, now)
}

func (l *limiter) allowPerson(person string, now time.Time) bool {
	return l.take(l.people, person, rate.Every(5*time.Minute), 3, now)
}

func (l *limiter) take(m map[string]*rate.Limiter, key string, every rate.Limit, burst int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := m[key]
	if !ok {
		if len(m) >= maxLimited {
			// Forget the full ones' history rather than grow: drop the
			// limiters that are back to a full burst.
			for k, v := range m {
				if v.TokensAt(now) >= float64(burst) {
					delete(m, k)
				}
			}
			if len(m) >= maxLimited {
				return false
			}
		}
		lim = rate.NewLimiter(every, burst)
		m[key] = lim
	}
	return lim.AllowN(now, 1)
}
