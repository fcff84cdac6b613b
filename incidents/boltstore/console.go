package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/consolestore"
)

// The console's state (incidents/console.go). Session IDs and feed tokens
// are looked up by their SHA-256; the file holds no session ID.
var (
	bktSessions   = []byte("sessions")    // sha256(session ID) → session JSON (without its ID)
	bktSessionExp = []byte("sessionexp")  // expiry ms (8) sha256(ID) → "": the sweep's order
	bktPostmortem = []byte("postmortems") // number (8) version (4) → {by, at} JSON
	bktPMText     = []byte("pmtexts")     // number (8) version (4) → the version's text
	bktFeeds      = []byte("feeds")       // feed name → its token
	bktFeedTokens = []byte("feedtokens")  // sha256(token) → feed name

	consoleBuckets = [][]byte{bktSessions, bktSessionExp, bktPostmortem, bktPMText, bktFeeds, bktFeedTokens}
)

var (
	_ incidents.Sessions        = (*Store)(nil)
	_ incidents.Postmortems     = (*Store)(nil)
	_ incidents.Feeds           = (*Store)(nil)
	_ incidents.Changes         = (*Store)(nil)
	_ incidents.OverrideRemover = (*Store)(nil)
)

// sweepMax bounds the expired sessions one PutSession deletes: each put
// adds one session and takes away up to sweepMax expired ones, so expired
// sessions never pile up and no put does more than a little work.
const sweepMax = 64

func expKey(at time.Time, h []byte) []byte {
	return append(ms(at), h...)
}

// PutSession implements incidents.Sessions. In the same transaction it
// deletes up to sweepMax sessions that have expired.
func (s *Store) PutSession(ctx context.Context, x incidents.Session) error {
	const op = "boltstore.PutSession"
	now := time.Now()
	if err := consolestore.CheckSession(x, now); err != nil {
		return err
	}
	v, err := json.Marshal(&x) // the ID is not marshalled
	if err != nil {
		return incidents.Wrap(incidents.Internal, op, err)
	}
	h := consolestore.Secret(x.ID)
	err = s.db.Batch(func(tx *bolt.Tx) error {
		ss, exp := tx.Bucket(bktSessions), tx.Bucket(bktSessionExp)
		if old := ss.Get(h[:]); old != nil {
			var o incidents.Session
			if json.Unmarshal(old, &o) == nil {
				if err := exp.Delete(expKey(o.ExpiresAt, h[:])); err != nil {
					return err
				}
			}
		}
		if err := ss.Put(h[:], v); err != nil {
			return err
		}
		if err := exp.Put(expKey(x.ExpiresAt, h[:]), nil); err != nil {
			return err
		}
		_, err := sweepSessions(tx, now, sweepMax)
		return err
	})
	return s.wrap(op, err)
}

// sweepSessions deletes up to max sessions that expired at now, oldest
// expiry first, and returns how many.
func sweepSessions(tx *bolt.Tx, now time.Time, max int) (int, error) {
	ss, exp := tx.Bucket(bktSessions), tx.Bucket(bktSessionExp)
	var dead [][]byte
	c := exp.Cursor()
	for k, _ := c.First(); k != nil && len(dead) < max; k, _ = c.Next() {
		if len(k) == 8+32 && unms(k[:8]) > now.UnixMilli() {
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := exp.Delete(k); err != nil {
			return 0, err
		}
		if len(k) != 8+32 {
			continue
		}
		// The session's own record says when it expires.
		if v := ss.Get(k[8:]); v != nil {
			var x incidents.Session
			if json.Unmarshal(v, &x) != nil || !x.ExpiresAt.After(now) {
				if err := ss.Delete(k[8:]); err != nil {
					return 0, err
				}
			}
		}
	}
	return len(dead), nil
}

// GetSession implements incidents.Sessions: a read transaction; a session
// that has expired is not returned even before a sweep deletes it.
func (s *Store) GetSession(ctx context.Context, id string) (incidents.Session, error) {
	const op = "boltstore.GetSession"
	if id == "" || len(id) > consolestore.MaxSessionID {
		return incidents.Session{}, consolestore.ExpiredSession()
	}
	h := consolestore.Secret(id)
	var x incidents.Session
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSessions)
		if b == nil { // a file from before sessions, opened read-only
			return nil
		}
		v := b.Get(h[:])
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &x)
	})
	if err != nil {
		return incidents.Session{}, s.wrap(op, err)
	}
	if !found || !x.ExpiresAt.After(time.Now()) {
		return incidents.Session{}, consolestore.ExpiredSession()
	}
	x.ID = id
	return x, nil
}

// DeleteSession implements incidents.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if id == "" || len(id) > consolestore.MaxSessionID {
		return nil
	}
	h := consolestore.Secret(id)
	err := s.db.Batch(func(tx *bolt.Tx) error {
		ss := tx.Bucket(bktSessions)
		v := ss.Get(h[:])
		if v == nil {
			return nil
		}
		var x incidents.Session
		if json.Unmarshal(v, &x) == nil {
			if err := tx.Bucket(bktSessionExp).Delete(expKey(x.ExpiresAt, h[:])); err != nil {
				return err
			}
		}
		return ss.Delete(h[:])
	})
	return s.wrap("boltstore.DeleteSession", err)
}

// pmHead is a postmortem version as listed: who saved it and when.
type pmHead struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

func pmKey(n int64, version int) []byte {
	return binary.BigEndian.AppendUint32(key(n), uint32(version))
}

// latestPM returns the incident n's latest postmortem version, 0 if none.
func latestPM(b *bolt.Bucket, n int64) int {
	c := b.Cursor()
	k, _ := c.Seek(key(n + 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if len(k) != 12 || !bytes.HasPrefix(k, key(n)) {
		return 0
	}
	return int(binary.BigEndian.Uint32(k[8:]))
}

// SavePostmortem implements incidents.Postmortems: one transaction checks
// the incident and the base and stores the version.
func (s *Store) SavePostmortem(ctx context.Context, incident string, base int, text, by string, at time.Time) (incidents.PostmortemVersion, error) {
	const op = "boltstore.SavePostmortem"
	id, n, err := consolestore.CheckPostmortem(incident, base, text, by, at)
	if err != nil {
		return incidents.PostmortemVersion{}, err
	}
	head, err := json.Marshal(pmHead{By: by, At: at})
	if err != nil {
		return incidents.PostmortemVersion{}, incidents.Wrap(incidents.Internal, op, err)
	}
	var latest int
	var exists bool
	// Update, not Batch: a save is rare, and a refused one writes nothing.
	err = s.db.Update(func(tx *bolt.Tx) error {
		if exists = tx.Bucket(bktIncidents).Get(key(n)) != nil; !exists {
			return nil
		}
		b := tx.Bucket(bktPostmortem)
		if latest = latestPM(b, n); latest != base {
			return nil
		}
		if err := b.Put(pmKey(n, base+1), head); err != nil {
			return err
		}
		return tx.Bucket(bktPMText).Put(pmKey(n, base+1), []byte(text))
	})
	switch {
	case err != nil:
		return incidents.PostmortemVersion{}, s.wrap(op, err)
	case !exists:
		return incidents.PostmortemVersion{}, incidents.Errorf(incidents.NotFound, "%s not found", id)
	case latest != base:
		return incidents.PostmortemVersion{}, consolestore.StaleBase(id, base, latest)
	}
	return incidents.PostmortemVersion{Incident: id, Version: base + 1, Text: text, By: by, At: at}, nil
}

// Postmortem implements incidents.Postmortems.
func (s *Store) Postmortem(ctx context.Context, incident string, version int) (incidents.PostmortemVersion, error) {
	const op = "boltstore.Postmortem"
	id, n, err := incidents.ParseID(incident)
	if err != nil {
		return incidents.PostmortemVersion{}, err
	}
	if err := consolestore.CheckVersion(version); err != nil {
		return incidents.PostmortemVersion{}, err
	}
	out := incidents.PostmortemVersion{Incident: id}
	err = s.db.View(func(tx *bolt.Tx) error {
		b, texts := tx.Bucket(bktPostmortem), tx.Bucket(bktPMText)
		if b == nil || texts == nil {
			return nil
		}
		v := version
		if v == 0 {
			v = latestPM(b, n)
		}
		head := b.Get(pmKey(n, v))
		if v == 0 || head == nil {
			return nil
		}
		var h pmHead
		if err := json.Unmarshal(head, &h); err != nil {
			return err
		}
		out.Version, out.By, out.At, out.Text = v, h.By, h.At, string(texts.Get(pmKey(n, v)))
		return nil
	})
	if err != nil {
		return incidents.PostmortemVersion{}, s.wrap(op, err)
	}
	if out.Version == 0 {
		return incidents.PostmortemVersion{}, consolestore.NoPostmortem(id, version)
	}
	return out, nil
}

// PostmortemVersions implements incidents.Postmortems; no text is read.
func (s *Store) PostmortemVersions(ctx context.Context, incident string) ([]incidents.PostmortemVersion, error) {
	id, n, err := incidents.ParseID(incident)
	if err != nil {
		return nil, err
	}
	var out []incidents.PostmortemVersion
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktPostmortem)
		if b == nil {
			return nil
		}
		prefix := key(n)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var h pmHead
			if len(k) != 12 {
				continue
			}
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
			out = append(out, incidents.PostmortemVersion{Incident: id, Version: int(binary.BigEndian.Uint32(k[8:])), By: h.By, At: h.At})
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.PostmortemVersions", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// FeedToken implements incidents.Feeds: a read transaction, and a write
// only the first time.
func (s *Store) FeedToken(ctx context.Context, feed string) (string, error) {
	const op = "boltstore.FeedToken"
	if err := consolestore.CheckFeed(feed); err != nil {
		return "", err
	}
	var tok string
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktFeeds); b != nil {
			tok = string(b.Get([]byte(feed)))
		}
		return nil
	})
	if err != nil || tok != "" {
		return tok, s.wrap(op, err)
	}
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktFeeds)
		if tok = string(b.Get([]byte(feed))); tok != "" {
			return nil // made meanwhile
		}
		tok = consolestore.NewToken()
		return putFeedToken(tx, feed, tok)
	})
	if err != nil {
		return "", s.wrap(op, err)
	}
	return tok, nil
}

func putFeedToken(tx *bolt.Tx, feed, tok string) error {
	if err := tx.Bucket(bktFeeds).Put([]byte(feed), []byte(tok)); err != nil {
		return err
	}
	h := consolestore.Secret(tok)
	return tx.Bucket(bktFeedTokens).Put(h[:], []byte(feed))
}

// RotateFeedToken implements incidents.Feeds: one transaction replaces
// both directions.
func (s *Store) RotateFeedToken(ctx context.Context, feed string) (string, error) {
	if err := consolestore.CheckFeed(feed); err != nil {
		return "", err
	}
	var tok string
	err := s.db.Batch(func(tx *bolt.Tx) error {
		if old := tx.Bucket(bktFeeds).Get([]byte(feed)); old != nil {
			h := consolestore.Secret(string(old))
			if err := tx.Bucket(bktFeedTokens).Delete(h[:]); err != nil {
				return err
			}
		}
		tok = consolestore.NewToken()
		return putFeedToken(tx, feed, tok)
	})
	if err != nil {
		return "", s.wrap("boltstore.RotateFeedToken", err)
	}
	return tok, nil
}

// FeedOf implements incidents.Feeds: it looks the token up by its hash,
// then compares it with the feed's current token in constant time.
func (s *Store) FeedOf(ctx context.Context, token string) (string, error) {
	if !consolestore.WellFormedToken(token) {
		return "", consolestore.UnknownToken()
	}
	h := consolestore.Secret(token)
	var feed string
	err := s.db.View(func(tx *bolt.Tx) error {
		byTok, feeds := tx.Bucket(bktFeedTokens), tx.Bucket(bktFeeds)
		if byTok == nil || feeds == nil {
			return nil
		}
		f := byTok.Get(h[:])
		if f != nil && consolestore.SameToken(token, string(feeds.Get(f))) {
			feed = string(f)
		}
		return nil
	})
	if err != nil {
		return "", s.wrap("boltstore.FeedOf", err)
	}
	if feed == "" {
		return "", consolestore.UnknownToken()
	}
	return feed, nil
}

// PublishChange implements incidents.Changes, within this process (the
// embedded store has one).
func (s *Store) PublishChange(ctx context.Context, id string) error {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return err
	}
	s.changes.Publish(id)
	return nil
}

// SubscribeChanges implements incidents.Changes, with the semantics of
// consolestore.Hub: an ID the subscriber has not read yet is not queued
// twice, and past 1,024 unread IDs the oldest is dropped (counted by
// ChangesDropped); a slow reader never holds up a publisher. Close ends
// every subscription.
func (s *Store) SubscribeChanges(ctx context.Context) (<-chan string, error) {
	ch, ok := s.changes.Subscribe(ctx)
	if !ok {
		return nil, incidents.Errorf(incidents.Unavailable, "the store is closed")
	}
	return ch, nil
}

// ChangesDropped returns how many changes subscribers lost by falling
// more than 1,024 unread changes behind: for a metric.
func (s *Store) ChangesDropped() int64 { return s.changes.Dropped() }

// RemoveOverride implements incidents.OverrideRemover. Every stored
// override of the schedule with o's person, start and end goes (two that
// match are the same override set twice); who set it does not matter.
func (s *Store) RemoveOverride(ctx context.Context, o incidents.OnCallOverride) error {
	removed := 0
	prefix := append([]byte(o.Schedule), 0)
	err := s.db.Batch(func(tx *bolt.Tx) error {
		removed = 0
		b := tx.Bucket(bktOverrides)
		var dead [][]byte
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var x incidents.OnCallOverride
			if json.Unmarshal(v, &x) == nil && x.Person == o.Person && x.From.Equal(o.From) && x.Until.Equal(o.Until) {
				dead = append(dead, bytes.Clone(k))
			}
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		removed = len(dead)
		return nil
	})
	if err != nil {
		return s.wrap("boltstore.RemoveOverride", err)
	}
	if removed == 0 {
		return incidents.Errorf(incidents.NotFound, "%s has no override for %s from %s until %s", o.Schedule, o.Person,
			o.From.UTC().Format(time.RFC3339), o.Until.UTC().Format(time.RFC3339))
	}
	return nil
}
