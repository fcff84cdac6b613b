package storetest

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Option adds to what Run checks.
type Option func(*options)

type options struct {
	replicas NewReplicas
	maxStats NewLimitedStore
}

// NewReplicas returns n empty stores on one shared backend, as n klaxon
// replicas would open them (each with its own client); they register their
// own cleanup with t.
type NewReplicas func(t testing.TB, n int) []incidents.Store

// WithReplicas makes the console tests write on one replica and read on
// another, save from two at once, and publish on one while two others
// subscribe. Without it they use one store in every role, which is right
// for a store that serves a single process (boltstore).
func WithReplicas(f NewReplicas) Option {
	return func(o *options) { o.replicas = f }
}

// MaxChangesBacklog is the most changes a subscriber that read nothing
// while 10,000 were published may read afterwards: a store must not hold
// an unbounded backlog for a slow reader.
const MaxChangesBacklog = 2048

// runConsole runs the tests of the console's store capabilities
// (incidents/console.go), each skipped when the store lacks it.
func runConsole(t *testing.T, newStore NewStore, o options) {
	replicas := func(t testing.TB, n int) []incidents.Store {
		if o.replicas != nil {
			return o.replicas(t, n)
		}
		s := newStore(t)
		out := make([]incidents.Store, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name string
		fn   func(*testing.T, []incidents.Store)
	}{
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionInvalid", testSessionInvalid},
		{"SessionExpiry", testSessionExpiry},
		{"SessionDelete", testSessionDelete},
		{"SessionConcurrent", testSessionConcurrent},
		{"PostmortemVersions", testPostmortemVersions},
		{"PostmortemStaleBaseConflicts", testPostmortemConflict},
		{"PostmortemLimits", testPostmortemLimits},
		{"PostmortemConcurrentSavers", testPostmortemConcurrent},
		{"FeedTokens", testFeedTokens},
		{"FeedTokenConcurrentFirstCalls", testFeedTokenConcurrent},
		{"FeedRotateRevokes", testFeedRotate},
		{"ChangesReachEveryReplica", testChangesAcross},
		{"ChangesCancelCloses", testChangesCancel},
		{"ChangesBurstSlowReader", testChangesBurst},
		{"RemoveOverride", testRemoveOverride},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, replicas(t, 3)) })
	}
}

// as returns every store as a T, skipping t when the first is not one.
func as[T any](t *testing.T, stores []incidents.Store, what string) []T {
	t.Helper()
	out := make([]T, len(stores))
	for i, s := range stores {
		x, ok := s.(T)
		if !ok {
			t.Skipf("store has no %s", what)
		}
		out[i] = x
	}
	return out
}

func wantKind(t testing.TB, what string, err error, kind incidents.Kind) {
	t.Helper()
	if incidents.ErrorKind(err) != kind || err == nil {
		t.Fatalf("%s: error %v, want %v", what, err, kind)
	}
}

// session returns a session of person expiring in ttl.
func session(person string, ttl time.Duration) incidents.Session {
	now := time.Now()
	return incidents.Session{
		ID: crand.Text(), Person: person, Method: "link", CSRF: crand.Text(),
		CreatedAt: now.UTC().Truncate(time.Millisecond), ExpiresAt: now.Add(ttl).UTC().Truncate(time.Millisecond),
	}
}

func sameSession(t testing.TB, got, want incidents.Session) {
	t.Helper()
	if got.ID != want.ID || got.Person != want.Person || got.Method != want.Method || got.CSRF != want.CSRF ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("session = %+v, want %+v", got, want)
	}
}

// A session put on one replica is read on another, and updated in place.
func testSessionRoundTrip(t *testing.T, stores []incidents.Store) {
	ss := as[incidents.Sessions](t, stores, "sessions")
	ctx := context.Background()
	a := session("alice", time.Hour)
	b := session("bob", time.Hour)
	b.Method = "oidc"
	for _, s := range []incidents.Session{a, b} {
		if err := ss[0].PutSession(ctx, s); err != nil {
			t.Fatalf("PutSession: %v", err)
		}
	}
	for _, want := range []incidents.Session{a, b} {
		got, err := ss[1].GetSession(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetSession on another replica: %v", err)
		}
		sameSession(t, got, want)
	}
	// Put again: the same ID, a later expiry and a new CSRF token.
	a.ExpiresAt = a.ExpiresAt.Add(time.Hour)
	a.CSRF = crand.Text()
	if err := ss[1].PutSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := ss[2].GetSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, got, a)

	_, err = ss[0].GetSession(ctx, crand.Text())
	wantKind(t, "GetSession(unknown)", err, incidents.NotFound)
	_, err = ss[0].GetSession(ctx, "")
	wantKind(t, "GetSession(\"\")", err, incidents.NotFound)
	// An ID that differs in case or by a character is another session.
	_, err = ss[0].GetSession(ctx, strings.ToLower(a.ID))
	wantKind(t, "GetSession(lower-cased ID)", err, incidents.NotFound)
	_, err = ss[0].GetSession(ctx, a.ID[:len(a.ID)-1])
	wantKind(t, "GetSession(truncated ID)", err, incidents.NotFound)
}

func testSessionInvalid(t *testing.T, stores []incidents.Store) {
	ss := as[incidents.Sessions](t, stores, "sessions")
	ctx := context.Background()
	for name, change := range map[string]func(*incidents.Session){
		"no ID":     func(s *incidents.Session) { s.ID = "" },
		"no person": func(s *incidents.Session) { s.Person = "" },
		"no expiry": func(s *incidents.Session) { s.ExpiresAt = time.Time{} },
		"expired":   func(s *incidents.Session) { s.ExpiresAt = time.Now().Add(-time.Second) },
		"long ID":   func(s *incidents.Session) { s.ID = strings.Repeat("x", 1025) },
		"no CSRF":   func(s *incidents.Session) { s.CSRF = "" },
	} {
		s := session("alice", time.Hour)
		change(&s)
		err := ss[0].PutSession(ctx, s)
		wantKind(t, "PutSession("+name+")", err, incidents.Invalid)
		if s.ID != "" {
			_, err := ss[0].GetSession(ctx, s.ID)
			wantKind(t, "GetSession after refused put ("+name+")", err, incidents.NotFound)
		}
	}
}

// A session is NotFound once it expired, on every replica.
func testSessionExpiry(t *testing.T, stores []incidents.Store) {
	ss := as[incidents.Sessions](t, stores, "sessions")
	ctx := context.Background()
	short := session("alice", 600*time.Millisecond)
	long := session("bob", time.Hour)
	for _, s := range []incidents.Session{short, long} {
		if err := ss[0].PutSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ss[1].GetSession(ctx, short.ID); err != nil {
		if time.Now().Before(short.ExpiresAt) {
			t.Fatalf("GetSession before its expiry: %v", err)
		}
		t.Skip("the machine was too slow to read the session before it expired")
	}
	time.Sleep(time.Until(short.ExpiresAt) + 50*time.Millisecond)
	for i, s := range ss {
		_, err := s.GetSession(ctx, short.ID)
		wantKind(t, fmt.Sprintf("GetSession(expired) on replica %d", i), err, incidents.NotFound)
	}
	// Putting another session (which may sweep expired ones) keeps live ones.
	if err := ss[2].PutSession(ctx, session("carol", time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := ss[0].GetSession(ctx, long.ID)
	if err != nil {
		t.Fatalf("the live session after an expired one: %v", err)
	}
	sameSession(t, got, long)
}

// Signing out on one replica ends the session on every replica.
func testSessionDelete(t *testing.T, stores []incidents.Store) {
	ss := as[incidents.Sessions](t, stores, "sessions")
	ctx := context.Background()
	a, b := session("alice", time.Hour), session("alice", time.Hour)
	for _, s := range []incidents.Session{a, b} {
		if err := ss[0].PutSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss[1].DeleteSession(ctx, a.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	for i, s := range ss {
		_, err := s.GetSession(ctx, a.ID)
		wantKind(t, fmt.Sprintf("GetSession(deleted) on replica %d", i), err, incidents.NotFound)
	}
	if _, err := ss[2].GetSession(ctx, b.ID); err != nil {
		t.Fatalf("the person's other session after one was deleted: %v", err)
	}
	for _, id := range []string{a.ID, crand.Text(), ""} {
		if err := ss[2].DeleteSession(ctx, id); err != nil {
			t.Fatalf("DeleteSession of a session that is gone: %v", err)
		}
	}
}

// Replicas putting, reading and deleting sessions at once (run with -race).
func testSessionConcurrent(t *testing.T, stores []incidents.Store) {
	ss := as[incidents.Sessions](t, stores, "sessions")
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				s := session("p"+strconv.Itoa(w), time.Hour)
				put, get := ss[(w+i)%len(ss)], ss[(w+i+1)%len(ss)]
				if err := put.PutSession(ctx, s); err != nil {
					t.Error(err)
					return
				}
				got, err := get.GetSession(ctx, s.ID)
				if err != nil || got.Person != s.Person || got.CSRF != s.CSRF {
					t.Errorf("GetSession = %+v, %v; want %s's", got, err, s.Person)
					return
				}
				if i%2 == 0 {
					if err := get.DeleteSession(ctx, s.ID); err != nil {
						t.Error(err)
						return
					}
					if _, err := put.GetSession(ctx, s.ID); incidents.ErrorKind(err) != incidents.NotFound {
						t.Errorf("GetSession after DeleteSession: %v, want NotFound", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// SessionSecrets puts sessions in s and returns their IDs: a test of the
// store's own layout then checks that none of them appears anywhere in
// what the store keeps (keys, values, the file), since a copy of the store
// must open no session.
func SessionSecrets(t testing.TB, s incidents.Sessions) []string {
	t.Helper()
	var ids []string
	for _, p := range []string{"alice", "bob", "carol"} {
		x := session(p, time.Hour)
		if err := s.PutSession(context.Background(), x); err != nil {
			t.Fatalf("PutSession: %v", err)
		}
		ids = append(ids, x.ID)
	}
	return ids
}

// incident opens an incident to write postmortems for.
func openIncident(t testing.TB, s incidents.Store, group string) string {
	t.Helper()
	return ingest(t, s, Batch(group, Alert(group+"-a", incidents.AlertFiring, T0)), T0).Incident.ID
}

func save(t testing.TB, p incidents.Postmortems, id string, base int, text, by string, at time.Time) incidents.PostmortemVersion {
	t.Helper()
	v, err := p.SavePostmortem(context.Background(), id, base, text, by, at)
	if err != nil {
		t.Fatalf("SavePostmortem(%s, base %d): %v", id, base, err)
	}
	return v
}

func testPostmortemVersions(t *testing.T, stores []incidents.Store) {
	ps := as[incidents.Postmortems](t, stores, "postmortems")
	ctx := context.Background()
	id := openIncident(t, stores[0], "g1")
	other := openIncident(t, stores[0], "g2")

	if _, err := ps[0].Postmortem(ctx, id, 0); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Postmortem before any save: %v, want NotFound", err)
	}
	if vs, err := ps[0].PostmortemVersions(ctx, id); err != nil || len(vs) != 0 {
		t.Fatalf("PostmortemVersions before any save = %+v, %v; want none", vs, err)
	}

	texts := []string{"# INC draft\n\nedited by alice", "## Impact\n\npayments slow — 12 min", "## Impact\n\nfixed: « ünïcode » ✓"}
	who := []string{"alice", "bob", "alice"}
	for i, text := range texts {
		at := T0.Add(time.Duration(i) * time.Minute)
		v := save(t, ps[i%len(ps)], id, i, text, who[i], at)
		if v.Incident != id || v.Version != i+1 || v.By != who[i] || !v.At.Equal(at) || v.Text != text {
			t.Fatalf("save %d returned %+v", i+1, v)
		}
	}
	// Another incident's postmortem is numbered on its own.
	if v := save(t, ps[0], strings.ToLower(other), 0, "other", "carol", T0); v.Version != 1 || v.Incident != other {
		t.Fatalf("first save of %s = %+v, want version 1 of %s", other, v, other)
	}

	latest, err := ps[1].Postmortem(ctx, id, 0)
	if err != nil || latest.Version != 3 || latest.Text != texts[2] || latest.By != "alice" || !latest.At.Equal(T0.Add(2*time.Minute)) {
		t.Fatalf("Postmortem(latest) = %+v, %v", latest, err)
	}
	v2, err := ps[2].Postmortem(ctx, id, 2)
	if err != nil || v2.Version != 2 || v2.Text != texts[1] || v2.By != "bob" || v2.Incident != id {
		t.Fatalf("Postmortem(2) = %+v, %v", v2, err)
	}
	if _, err := ps[0].Postmortem(ctx, id, 4); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Postmortem(4 of 3): %v, want NotFound", err)
	}
	if _, err := ps[0].Postmortem(ctx, id, -1); incidents.ErrorKind(err) != incidents.Invalid {
		t.Fatalf("Postmortem(-1): %v, want Invalid", err)
	}
	vs, err := ps[1].PostmortemVersions(ctx, id)
	if err != nil || len(vs) != 3 {
		t.Fatalf("PostmortemVersions = %+v, %v; want 3", vs, err)
	}
	for i, v := range vs {
		n := 3 - i
		if v.Version != n || v.Text != "" || v.By != who[n-1] || !v.At.Equal(T0.Add(time.Duration(n-1)*time.Minute)) || v.Incident != id {
			t.Fatalf("PostmortemVersions[%d] = %+v, want version %d by %s without its text", i, v, n, who[n-1])
		}
	}
	if _, err := ps[0].Postmortem(ctx, "INC-999", 0); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Postmortem(unknown incident): %v, want NotFound", err)
	}
	if _, err := ps[0].Postmortem(ctx, "nonsense", 0); incidents.ErrorKind(err) != incidents.Invalid {
		t.Fatalf("Postmortem(nonsense): %v, want Invalid", err)
	}
}

// A save from a base that is not the latest version stores nothing.
func testPostmortemConflict(t *testing.T, stores []incidents.Store) {
	ps := as[incidents.Postmortems](t, stores, "postmortems")
	ctx := context.Background()
	id := openIncident(t, stores[0], "g1")
	save(t, ps[0], id, 0, "one", "alice", T0)
	save(t, ps[1], id, 1, "two", "bob", T0.Add(time.Minute))
	for _, base := range []int{0, 1, 3, 7} {
		_, err := ps[base%len(ps)].SavePostmortem(ctx, id, base, "stale from "+strconv.Itoa(base), "carol", T0.Add(time.Hour))
		wantKind(t, fmt.Sprintf("SavePostmortem(base %d of 2)", base), err, incidents.Conflict)
	}
	latest, err := ps[2].Postmortem(ctx, id, 0)
	if err != nil || latest.Version != 2 || latest.Text != "two" {
		t.Fatalf("after the conflicts, latest = %+v, %v; want version 2 unchanged", latest, err)
	}
	if vs, _ := ps[2].PostmortemVersions(ctx, id); len(vs) != 2 {
		t.Fatalf("after the conflicts, %d versions, want 2", len(vs))
	}
	// The editor who reloads saves on top.
	if v := save(t, ps[0], id, 2, "three", "carol", T0.Add(time.Hour)); v.Version != 3 {
		t.Fatalf("save from the latest base = %+v", v)
	}
}

func testPostmortemLimits(t *testing.T, stores []incidents.Store) {
	ps := as[incidents.Postmortems](t, stores, "postmortems")
	ctx := context.Background()
	id := openIncident(t, stores[0], "g1")
	big := strings.Repeat("é", incidents.MaxPostmortemLen/2) // exactly the limit, in bytes
	for name, c := range map[string]struct {
		id, text, by string
		base         int
		at           time.Time
		kind         incidents.Kind
	}{
		"too long":      {id, big + "x", "alice", 0, T0, incidents.Invalid},
		"not UTF-8":     {id, "caf\xe9", "alice", 0, T0, incidents.Invalid},
		"nobody":        {id, "text", "", 0, T0, incidents.Invalid},
		"no time":       {id, "text", "alice", 0, time.Time{}, incidents.Invalid},
		"negative base": {id, "text", "alice", -1, T0, incidents.Invalid},
		"bad ID":        {"payments", "text", "alice", 0, T0, incidents.Invalid},
		"no incident":   {"INC-999", "text", "alice", 0, T0, incidents.NotFound},
	} {
		_, err := ps[0].SavePostmortem(ctx, c.id, c.base, c.text, c.by, c.at)
		wantKind(t, "SavePostmortem("+name+")", err, c.kind)
	}
	if vs, err := ps[0].PostmortemVersions(ctx, id); err != nil || len(vs) != 0 {
		t.Fatalf("refused saves stored %+v, %v", vs, err)
	}
	v := save(t, ps[0], id, 0, big, "alice", T0)
	got, err := ps[1].Postmortem(ctx, id, v.Version)
	if err != nil || got.Text != big {
		t.Fatalf("a postmortem of exactly MaxPostmortemLen bytes came back with %d bytes, %v", len(got.Text), err)
	}
	if v := save(t, ps[1], id, 1, "", "bob", T0); v.Version != 2 { // emptied: a version too
		t.Fatalf("saving an empty text = %+v", v)
	}
}

// Editors on several replicas save from the same base at once: exactly one
// wins each round, the others get Conflict, and nothing is lost or doubled.
func testPostmortemConcurrent(t *testing.T, stores []incidents.Store) {
	ps := as[incidents.Postmortems](t, stores, "postmortems")
	ctx := context.Background()
	id := openIncident(t, stores[0], "g1")
	const rounds, savers = 10, 6
	for round := range rounds {
		var wg sync.WaitGroup
		var won, conflicts atomic.Int32
		winner := make(chan string, savers)
		start := make(chan struct{})
		for i := range savers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				by := fmt.Sprintf("editor-%d", i)
				v, err := ps[i%len(ps)].SavePostmortem(ctx, id, round, "round "+strconv.Itoa(round)+" by "+by, by, T0)
				switch incidents.ErrorKind(err) {
				case incidents.Conflict:
					conflicts.Add(1)
				default:
					if err != nil {
						t.Errorf("SavePostmortem: %v", err)
						return
					}
					if v.Version != round+1 {
						t.Errorf("the winner stored version %d, want %d", v.Version, round+1)
					}
					won.Add(1)
					winner <- by
				}
			}()
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || conflicts.Load() != savers-1 {
			t.Fatalf("round %d: %d saves won and %d conflicted, want 1 and %d", round, won.Load(), conflicts.Load(), savers-1)
		}
		by := <-winner
		latest, err := ps[round%len(ps)].Postmortem(ctx, id, 0)
		if err != nil || latest.Version != round+1 || latest.By != by || latest.Text != "round "+strconv.Itoa(round)+" by "+by {
			t.Fatalf("round %d: latest = %+v, %v; want the winner %s's", round, latest, err, by)
		}
	}
	if vs, _ := ps[0].PostmortemVersions(ctx, id); len(vs) != rounds {
		t.Fatalf("%d versions after %d rounds", len(vs), rounds)
	}
}

// feedToken checks tok is 32 random bytes, base64url without padding.
func feedToken(t testing.TB, tok string) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 32 {
		t.Fatalf("token %q is not 32 bytes in base64url (%d bytes, %v)", tok, len(b), err)
	}
}

func testFeedTokens(t *testing.T, stores []incidents.Store) {
	fs := as[incidents.Feeds](t, stores, "feeds")
	ctx := context.Background()
	tokens := map[string]string{}
	for i, feed := range []string{"schedule:payments-primary", "person:alice", "person:bob", "person:{odd} name:with colons"} {
		tok, err := fs[i%len(fs)].FeedToken(ctx, feed)
		if err != nil {
			t.Fatalf("FeedToken(%s): %v", feed, err)
		}
		feedToken(t, tok)
		for f, other := range tokens {
			if other == tok {
				t.Fatalf("%s and %s have the same token", f, feed)
			}
		}
		tokens[feed] = tok
	}
	for feed, tok := range tokens {
		for i, f := range fs {
			again, err := f.FeedToken(ctx, feed)
			if err != nil || again != tok {
				t.Fatalf("FeedToken(%s) again on replica %d = %q, %v; want %q", feed, i, again, err, tok)
			}
			got, err := f.FeedOf(ctx, tok)
			if err != nil || got != feed {
				t.Fatalf("FeedOf(%s's token) on replica %d = %q, %v", feed, i, got, err)
			}
		}
	}
	tok := tokens["person:alice"]
	for _, bad := range []string{"", "x", crand.Text(), base64.RawURLEncoding.EncodeToString(make([]byte, 32)), tok[:len(tok)-1], tok + "A", strings.ToUpper(tok)} {
		if bad == tok {
			continue
		}
		_, err := fs[0].FeedOf(ctx, bad)
		wantKind(t, fmt.Sprintf("FeedOf(%q)", bad), err, incidents.NotFound)
	}
	for _, bad := range []string{"", strings.Repeat("f", 300), "person:\x00alice", "person:\xffalice"} {
		_, err := fs[0].FeedToken(ctx, bad)
		wantKind(t, fmt.Sprintf("FeedToken(%q)", bad), err, incidents.Invalid)
		_, err = fs[0].RotateFeedToken(ctx, bad)
		wantKind(t, fmt.Sprintf("RotateFeedToken(%q)", bad), err, incidents.Invalid)
	}
}

// Replicas asking for a feed's first token at once all get the same one.
func testFeedTokenConcurrent(t *testing.T, stores []incidents.Store) {
	fs := as[incidents.Feeds](t, stores, "feeds")
	ctx := context.Background()
	for round := range 5 {
		feed := "schedule:race-" + strconv.Itoa(round)
		const callers = 12
		got := make([]string, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok, err := fs[i%len(fs)].FeedToken(ctx, feed)
				if err != nil {
					t.Error(err)
				}
				got[i] = tok
			}()
		}
		close(start)
		wg.Wait()
		for i := range got {
			if got[i] != got[0] {
				t.Fatalf("%s: concurrent first calls returned %q and %q", feed, got[0], got[i])
			}
		}
		if f, err := fs[0].FeedOf(ctx, got[0]); err != nil || f != feed {
			t.Fatalf("FeedOf(the agreed token) = %q, %v", f, err)
		}
	}
}

// Rotating a token revokes the old one on every replica at once.
func testFeedRotate(t *testing.T, stores []incidents.Store) {
	fs := as[incidents.Feeds](t, stores, "feeds")
	ctx := context.Background()
	const feed = "schedule:payments-primary"
	old, err := fs[0].FeedToken(ctx, feed)
	if err != nil {
		t.Fatal(err)
	}
	other, err := fs[0].FeedToken(ctx, "person:alice")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{old: true}
	for i := range 3 {
		tok, err := fs[i%len(fs)].RotateFeedToken(ctx, feed)
		if err != nil {
			t.Fatalf("RotateFeedToken: %v", err)
		}
		feedToken(t, tok)
		if seen[tok] {
			t.Fatalf("rotation %d gave a token used before", i+1)
		}
		for r, f := range fs {
			for prev := range seen {
				_, err := f.FeedOf(ctx, prev)
				wantKind(t, fmt.Sprintf("FeedOf(a rotated-out token) on replica %d", r), err, incidents.NotFound)
			}
			if got, err := f.FeedOf(ctx, tok); err != nil || got != feed {
				t.Fatalf("FeedOf(new token) on replica %d = %q, %v", r, got, err)
			}
			if again, err := f.FeedToken(ctx, feed); err != nil || again != tok {
				t.Fatalf("FeedToken after rotation on replica %d = %q, %v; want the new token", r, again, err)
			}
		}
		seen[tok] = true
	}
	// Other feeds keep theirs; rotating a feed that has none makes one.
	if got, err := fs[1].FeedOf(ctx, other); err != nil || got != "person:alice" {
		t.Fatalf("another feed's token after rotations: %q, %v", got, err)
	}
	tok, err := fs[2].RotateFeedToken(ctx, "person:new")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fs[0].FeedToken(ctx, "person:new"); err != nil || got != tok {
		t.Fatalf("FeedToken after a first rotation = %q, %v; want %q", got, err, tok)
	}
}

// recvChange reads one change from ch, failing t after 10 s.
func recvChange(t testing.TB, ch <-chan string, who string) string {
	t.Helper()
	select {
	case id, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the channel closed", who)
		}
		return id
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no change delivered in 10 s", who)
	}
	return ""
}

func subscribe(t testing.TB, ctx context.Context, c incidents.Changes) <-chan string {
	t.Helper()
	ch, err := c.SubscribeChanges(ctx)
	if err != nil {
		t.Fatalf("SubscribeChanges: %v", err)
	}
	return ch
}

// Two replicas' subscribers see what a third publishes, in order.
func testChangesAcross(t *testing.T, stores []incidents.Store) {
	cs := as[incidents.Changes](t, stores, "changes")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := subscribe(t, ctx, cs[0])
	b := subscribe(t, ctx, cs[1])
	a2 := subscribe(t, ctx, cs[0]) // a second page on the first replica
	for _, id := range []string{"INC-7", "INC-8"} {
		if err := cs[2].PublishChange(ctx, id); err != nil {
			t.Fatalf("PublishChange: %v", err)
		}
	}
	for name, ch := range map[string]<-chan string{"replica 0": a, "replica 1": b, "replica 0, second subscriber": a2} {
		for _, want := range []string{"INC-7", "INC-8"} {
			if got := recvChange(t, ch, name); got != want {
				t.Fatalf("%s received %s, want %s", name, got, want)
			}
		}
	}
	// A replica's own publish reaches its own subscribers too.
	if err := cs[0].PublishChange(ctx, "INC-9"); err != nil {
		t.Fatal(err)
	}
	if got := recvChange(t, a, "replica 0"); got != "INC-9" {
		t.Fatalf("own publish: got %s", got)
	}
	if got := recvChange(t, b, "replica 1"); got != "INC-9" {
		t.Fatalf("replica 0's publish on replica 1: got %s", got)
	}
}

// The channel closes when the subscriber's context ends; others go on.
func testChangesCancel(t *testing.T, stores []incidents.Store) {
	cs := as[incidents.Changes](t, stores, "changes")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone, stop := context.WithCancel(ctx)
	ch := subscribe(t, gone, cs[0])
	stays := subscribe(t, ctx, cs[0])
	stop()
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline:
			t.Fatal("the channel is still open 10 s after its context ended")
		}
	}
	if err := cs[1].PublishChange(ctx, "INC-1"); err != nil {
		t.Fatal(err)
	}
	if got := recvChange(t, stays, "the other subscriber"); got != "INC-1" {
		t.Fatalf("got %s", got)
	}
	// An ended context subscribes to nothing.
	done, end := context.WithCancel(ctx)
	end()
	if ch, err := cs[0].SubscribeChanges(done); err == nil {
		select {
		case _, ok := <-ch:
			if ok {
				t.Fatal("a subscription with an ended context delivered a change")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a subscription with an ended context did not close")
		}
	}
}

// A burst of 10,000 changes: the publisher is never held up by a reader
// that reads nothing, or one that reads slowly; the idle reader then
// reads a bounded backlog that ends with the newest change.
func testChangesBurst(t *testing.T, stores []incidents.Store) {
	cs := as[incidents.Changes](t, stores, "changes")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	idle := subscribe(t, ctx, cs[0])
	slow := subscribe(t, ctx, cs[1])
	const n = 10_000
	last := "INC-" + strconv.Itoa(n)
	slowDone := make(chan int, 1)
	go func() {
		read := 0
		for id := range slow {
			read++
			if id == last {
				break
			}
			time.Sleep(time.Millisecond)
		}
		slowDone <- read
	}()
	began := time.Now()
	for i := 1; i <= n; i++ {
		if err := cs[2].PublishChange(ctx, "INC-"+strconv.Itoa(i)); err != nil {
			t.Fatalf("PublishChange %d of %d (after %v): %v", i, n, time.Since(began), err)
		}
	}
	t.Logf("%d changes published in %v", n, time.Since(began).Round(time.Millisecond))
	select {
	case read := <-slowDone:
		if read >= n {
			t.Fatalf("the slow reader read all %d changes: nothing was coalesced or dropped, so its backlog was unbounded", read)
		}
		t.Logf("the slow reader read %d changes, the newest last", read)
	case <-ctx.Done():
		t.Fatal("the slow reader never read the newest change")
	}
	var got []string
	for done := false; !done; {
		id := recvChange(t, idle, "the idle reader")
		got = append(got, id)
		done = id == last
		if len(got) > MaxChangesBacklog {
			t.Fatalf("the idle reader read more than %d changes after the burst: its backlog is not bounded", MaxChangesBacklog)
		}
	}
	t.Logf("the idle reader read a backlog of %d changes, the newest last", len(got))
	prev := 0
	for _, id := range got {
		k, _ := strconv.Atoi(strings.TrimPrefix(id, "INC-"))
		if k <= prev {
			t.Fatalf("the backlog is out of order: INC-%d before %s", prev, id)
		}
		prev = k
	}
	if d, ok := stores[0].(interface{ ChangesDropped() int64 }); ok {
		if n := d.ChangesDropped(); n == 0 {
			t.Fatal("ChangesDropped = 0 after an idle reader missed most of a burst")
		}
	}
}

func testRemoveOverride(t *testing.T, stores []incidents.Store) {
	ovs := as[incidents.Overrides](t, stores, "overrides")
	rs := as[incidents.OverrideRemover](t, stores, "override removal")
	ctx := context.Background()
	a1 := incidents.OnCallOverride{Schedule: "primary", Person: "alice", From: T0, Until: T0.Add(4 * time.Hour), SetBy: "bob", SetAt: T0}
	a2 := incidents.OnCallOverride{Schedule: "primary", Person: "alice", From: T0.Add(24 * time.Hour), Until: T0.Add(28 * time.Hour), SetBy: "bob", SetAt: T0.Add(time.Second)}
	b := incidents.OnCallOverride{Schedule: "primary", Person: "bob", From: T0, Until: T0.Add(4 * time.Hour), SetBy: "bob", SetAt: T0.Add(2 * time.Second)}
	c := incidents.OnCallOverride{Schedule: "other", Person: "alice", From: T0, Until: T0.Add(4 * time.Hour), SetBy: "bob", SetAt: T0}
	for _, o := range []incidents.OnCallOverride{a1, a2, b, c} {
		if err := ovs[0].AddOverride(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// Who set it and when do not matter; the window must match exactly.
	rm := a1
	rm.SetBy, rm.SetAt = "", time.Time{}
	rm.From = rm.From.In(time.FixedZone("WIB", 7*3600))
	if err := rs[1].RemoveOverride(ctx, rm); err != nil {
		t.Fatalf("RemoveOverride: %v", err)
	}
	got, err := ovs[2].Overrides(ctx, "primary", T0.Add(time.Minute))
	if err != nil || len(got) != 2 || got[0].Person != "alice" || !got[0].From.Equal(a2.From) || got[1].Person != "bob" {
		t.Fatalf("Overrides after removing alice's first = %+v, %v; want alice's second and bob's", got, err)
	}
	if got, _ := ovs[0].Overrides(ctx, "other", T0.Add(time.Minute)); len(got) != 1 {
		t.Fatalf("another schedule's override was removed too: %+v", got)
	}
	for name, o := range map[string]incidents.OnCallOverride{
		"removed already": a1,
		"other person":    {Schedule: "primary", Person: "carol", From: T0, Until: T0.Add(4 * time.Hour)},
		"other from":      {Schedule: "primary", Person: "bob", From: T0.Add(time.Second), Until: T0.Add(4 * time.Hour)},
		"other until":     {Schedule: "primary", Person: "bob", From: T0, Until: T0.Add(3 * time.Hour)},
		"other schedule":  {Schedule: "nope", Person: "bob", From: T0, Until: T0.Add(4 * time.Hour)},
	} {
		wantKind(t, "RemoveOverride("+name+")", rs[0].RemoveOverride(ctx, o), incidents.NotFound)
	}
	if got, _ := ovs[1].Overrides(ctx, "primary", T0.Add(time.Minute)); len(got) != 2 {
		t.Fatalf("refused removals removed something: %+v", got)
	}
	// Two replicas removing the same override: one succeeds, one finds none.
	errs := make(chan error, 2)
	for _, r := range rs[:2] {
		go func() { errs <- r.RemoveOverride(ctx, b) }()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) || (incidents.ErrorKind(errors.Join(e1, e2)) != incidents.NotFound) {
		t.Fatalf("two removals of one override: %v and %v; want one success and one NotFound", e1, e2)
	}
	got, _ = ovs[0].Overrides(ctx, "primary", T0.Add(time.Minute))
	if len(got) != 1 || got[0].Person != "alice" {
		t.Fatalf("Overrides at the end = %+v, want alice's second", got)
	}
}

// Contains reports whether any of secrets appears in data: for the stores'
// own tests of what a copy of the store reveals.
func Contains(data []byte, secrets []string) (string, bool) {
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			return s, true
		}
	}
	return "", false
}

// BenchGetSession measures GetSession, which the console calls on every
// request, over 1,000 stored sessions: "serial" is one caller at a time,
// "parallel" eight per CPU, as a busy console.
func BenchGetSession(b *testing.B, s incidents.Sessions) {
	ctx := context.Background()
	ids := make([]string, 1000)
	for i := range ids {
		x := session("p"+strconv.Itoa(i), time.Hour)
		if err := s.PutSession(ctx, x); err != nil {
			b.Fatal(err)
		}
		ids[i] = x.ID
	}
	get := func(i int) error {
		_, err := s.GetSession(ctx, ids[i%len(ids)])
		return err
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := get(i); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := get(int(n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
