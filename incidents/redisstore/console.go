package redisstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/consolestore"
)

// The console's state (incidents/console.go). Keys, P being the prefix:
//
//	P:sess:{<sha256 of the ID>}  a session's JSON (without its ID), with a
//	                             TTL that ends when it expires
//	P:inc:{INC-42}:pm            list of the postmortem's versions ({by,
//	                             at} JSON), the first saved first
//	P:inc:{INC-42}:pm:text       hash version → the version's text
//	{P}:feeds                    hash feed name → its token
//	{P}:feeds:bytoken            hash sha256 of a token (hex) → feed name
//	P:changes                    the pub/sub channel of changed incidents
//
// A postmortem's keys share its incident's hash tag, so a save (a script
// that checks the incident exists and the base is the latest version) runs
// on one slot; the two feed hashes share {P}, so a rotation swaps both
// directions in one script.
var (
	_ incidents.Sessions        = (*Store)(nil)
	_ incidents.Postmortems     = (*Store)(nil)
	_ incidents.Feeds           = (*Store)(nil)
	_ incidents.Changes         = (*Store)(nil)
	_ incidents.OverrideRemover = (*Store)(nil)
)

func (s *Store) sessionKey(id string) string {
	h := consolestore.Secret(id)
	return s.prefix + ":sess:{" + hex.EncodeToString(h[:]) + "}"
}

// PutSession implements incidents.Sessions: one SET with the session's
// remaining life as its TTL.
func (s *Store) PutSession(ctx context.Context, x incidents.Session) error {
	const op = "redisstore.PutSession"
	now := time.Now()
	if err := consolestore.CheckSession(x, now); err != nil {
		return err
	}
	v, err := json.Marshal(&x) // the ID is not marshalled
	if err != nil {
		return incidents.Wrap(incidents.Internal, op, err)
	}
	ttl := max(x.ExpiresAt.Sub(now), time.Millisecond)
	return unavailable(op, s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		return []redis.Cmder{p.Set(ctx, s.sessionKey(x.ID), v, ttl)}
	}))
}

// GetSession implements incidents.Sessions: one GET, in the shared
// pipelines. The expiry is checked again on the replica's clock, so a
// session never outlives ExpiresAt whatever Redis's clock says.
func (s *Store) GetSession(ctx context.Context, id string) (incidents.Session, error) {
	const op = "redisstore.GetSession"
	if id == "" || len(id) > consolestore.MaxSessionID {
		return incidents.Session{}, consolestore.ExpiredSession()
	}
	var get *redis.StringCmd
	if err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		get = p.Get(ctx, s.sessionKey(id))
		return []redis.Cmder{get}
	}); err != nil {
		return incidents.Session{}, unavailable(op, err)
	}
	v, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return incidents.Session{}, consolestore.ExpiredSession()
	}
	var x incidents.Session
	if err := json.Unmarshal(v, &x); err != nil {
		return incidents.Session{}, incidents.Wrap(incidents.Internal, op, err)
	}
	if !x.ExpiresAt.After(time.Now()) {
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
	return unavailable("redisstore.DeleteSession", s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		return []redis.Cmder{p.Del(ctx, s.sessionKey(id))}
	}))
}

// pmHead is a postmortem version as listed: who saved it and when.
type pmHead struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

func (s *Store) pmKeys(id string) []string {
	core := s.record(id).core
	return []string{core, core + ":pm", core + ":pm:text"}
}

var (
	// savePMScript appends a version unless the incident is unknown
	// ({1}) or its latest version is not the base ({2, latest}); it
	// returns {0, version}. KEYS: incident, versions, texts. ARGV: base,
	// head JSON, text.
	savePMScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {1} end
local n = redis.call('LLEN', KEYS[2])
if n ~= tonumber(ARGV[1]) then return {2, n} end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], n + 1, ARGV[3])
return {0, n + 1}`)

	// getPMScript returns {version, head JSON, text} of version ARGV[1]
	// (0: the latest), or {} when there is none. KEYS: versions, texts.
	getPMScript = redis.NewScript(`
local n = redis.call('LLEN', KEYS[1])
local v = tonumber(ARGV[1])
if v == 0 then v = n end
if v < 1 or v > n then return {} end
return {v, redis.call('LINDEX', KEYS[1], v - 1), redis.call('HGET', KEYS[2], v) or ''}`)
)

// SavePostmortem implements incidents.Postmortems: one script in the
// incident's slot, so a stale base stores nothing.
func (s *Store) SavePostmortem(ctx context.Context, incident string, base int, text, by string, at time.Time) (incidents.PostmortemVersion, error) {
	const op = "redisstore.SavePostmortem"
	id, _, err := consolestore.CheckPostmortem(incident, base, text, by, at)
	if err != nil {
		return incidents.PostmortemVersion{}, err
	}
	head, err := json.Marshal(pmHead{By: by, At: at})
	if err != nil {
		return incidents.PostmortemVersion{}, incidents.Wrap(incidents.Internal, op, err)
	}
	res, err := savePMScript.Run(ctx, s.rdb, s.pmKeys(id), base, head, text).Int64Slice()
	if err != nil {
		return incidents.PostmortemVersion{}, unavailable(op, err)
	}
	switch {
	case len(res) == 1 && res[0] == 1:
		return incidents.PostmortemVersion{}, incidents.Errorf(incidents.NotFound, "%s not found", id)
	case len(res) == 2 && res[0] == 2:
		return incidents.PostmortemVersion{}, consolestore.StaleBase(id, base, int(res[1]))
	case len(res) == 2 && res[0] == 0:
		return incidents.PostmortemVersion{Incident: id, Version: int(res[1]), Text: text, By: by, At: at}, nil
	}
	return incidents.PostmortemVersion{}, incidents.Errorf(incidents.Internal, "%s: unexpected answer %v from the save script", op, res)
}

// Postmortem implements incidents.Postmortems: one script.
func (s *Store) Postmortem(ctx context.Context, incident string, version int) (incidents.PostmortemVersion, error) {
	const op = "redisstore.Postmortem"
	id, _, err := incidents.ParseID(incident)
	if err != nil {
		return incidents.PostmortemVersion{}, err
	}
	if err := consolestore.CheckVersion(version); err != nil {
		return incidents.PostmortemVersion{}, err
	}
	res, err := getPMScript.Run(ctx, s.rdb, s.pmKeys(id)[1:], version).Slice()
	if err != nil {
		return incidents.PostmortemVersion{}, unavailable(op, err)
	}
	if len(res) != 3 {
		return incidents.PostmortemVersion{}, consolestore.NoPostmortem(id, version)
	}
	n, _ := res[0].(int64)
	headJSON, _ := res[1].(string)
	text, _ := res[2].(string)
	var h pmHead
	if err := json.Unmarshal([]byte(headJSON), &h); err != nil {
		return incidents.PostmortemVersion{}, incidents.Wrap(incidents.Internal, op, err)
	}
	return incidents.PostmortemVersion{Incident: id, Version: int(n), Text: text, By: h.By, At: h.At}, nil
}

// PostmortemVersions implements incidents.Postmortems: one LRANGE of the
// heads; no text is read.
func (s *Store) PostmortemVersions(ctx context.Context, incident string) ([]incidents.PostmortemVersion, error) {
	const op = "redisstore.PostmortemVersions"
	id, _, err := incidents.ParseID(incident)
	if err != nil {
		return nil, err
	}
	heads, err := s.rdb.LRange(ctx, s.pmKeys(id)[1], 0, -1).Result()
	if err != nil {
		return nil, unavailable(op, err)
	}
	out := make([]incidents.PostmortemVersion, len(heads))
	for i, v := range heads {
		var h pmHead
		if err := json.Unmarshal([]byte(v), &h); err != nil {
			return nil, incidents.Wrap(incidents.Internal, op, err)
		}
		out[len(heads)-1-i] = incidents.PostmortemVersion{Incident: id, Version: i + 1, By: h.By, At: h.At}
	}
	return out, nil
}

func (s *Store) feedKeys() []string {
	tag := "{" + s.prefix + "}"
	return []string{tag + ":feeds", tag + ":feeds:bytoken"}
}

func tokenField(tok string) string {
	h := consolestore.Secret(tok)
	return hex.EncodeToString(h[:])
}

var (
	// feedTokenScript returns the feed's token, storing ARGV[2] (whose
	// hash is ARGV[3]) when it has none. KEYS: feeds, by token. ARGV:
	// feed, token, its hash.
	feedTokenScript = redis.NewScript(`
local t = redis.call('HGET', KEYS[1], ARGV[1])
if t then return t end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return ARGV[2]`)

	// rotateScript replaces the feed's token if it is still ARGV[2] (''
	// for none), whose hash is ARGV[3]; it returns 0 when it was not.
	// KEYS: feeds, by token. ARGV: feed, old token, its hash, new token,
	// its hash.
	rotateScript = redis.NewScript(`
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[3]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[5], ARGV[1])
return 1`)

	// feedOfScript returns {feed, its current token} for a token's hash,
	// or {} when no feed has it. KEYS: feeds, by token. ARGV: hash.
	feedOfScript = redis.NewScript(`
local f = redis.call('HGET', KEYS[2], ARGV[1])
if not f then return {} end
return {f, redis.call('HGET', KEYS[1], f) or ''}`)
)

// FeedToken implements incidents.Feeds: one script, so replicas asking
// at once agree on the first token.
func (s *Store) FeedToken(ctx context.Context, feed string) (string, error) {
	if err := consolestore.CheckFeed(feed); err != nil {
		return "", err
	}
	tok := consolestore.NewToken()
	got, err := feedTokenScript.Run(ctx, s.rdb, s.feedKeys(), feed, tok, tokenField(tok)).Text()
	if err != nil {
		return "", unavailable("redisstore.FeedToken", err)
	}
	return got, nil
}

// RotateFeedToken implements incidents.Feeds: a compare-and-swap script
// replaces both directions at once, so the old token is unknown from
// then on, on every replica.
func (s *Store) RotateFeedToken(ctx context.Context, feed string) (string, error) {
	const op = "redisstore.RotateFeedToken"
	if err := consolestore.CheckFeed(feed); err != nil {
		return "", err
	}
	keys := s.feedKeys()
	for attempt := range maxAttempts {
		if attempt > 2 {
			if err := backoff(ctx, attempt); err != nil {
				return "", unavailable(op, err)
			}
		}
		old, err := s.rdb.HGet(ctx, keys[0], feed).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", unavailable(op, err)
		}
		oldField := ""
		if old != "" {
			oldField = tokenField(old)
		}
		tok := consolestore.NewToken()
		ok, err := rotateScript.Run(ctx, s.rdb, keys, feed, old, oldField, tok, tokenField(tok)).Int()
		if err != nil {
			return "", unavailable(op, err)
		}
		if ok == 1 {
			return tok, nil
		}
	}
	return "", incidents.Errorf(incidents.Unavailable, "the token of feed %q is being changed by others, try again", feed)
}

// FeedOf implements incidents.Feeds: it looks the token up by its hash,
// then compares it with the feed's current token in constant time.
func (s *Store) FeedOf(ctx context.Context, token string) (string, error) {
	if !consolestore.WellFormedToken(token) {
		return "", consolestore.UnknownToken()
	}
	res, err := feedOfScript.Run(ctx, s.rdb, s.feedKeys(), tokenField(token)).StringSlice()
	if err != nil {
		return "", unavailable("redisstore.FeedOf", err)
	}
	if len(res) != 2 || !consolestore.SameToken(token, res[1]) {
		return "", consolestore.UnknownToken()
	}
	return res[0], nil
}

func (s *Store) changesChannel() string { return s.prefix + ":changes" }

// changeFeed is a Store's one subscription to the changes channel,
// opened by the first SubscribeChanges and shared by every subscriber of
// the Store through hub. The zero value is ready to use.
type changeFeed struct {
	mu     sync.Mutex
	ps     *redis.PubSub
	closed bool
	hub    consolestore.Hub
	wg     sync.WaitGroup
}

// PublishChange implements incidents.Changes: a PUBLISH on P:changes.
// One replica's changes arrive in the order it published them. On Cluster
// the cluster bus forwards a PUBLISH to every node's subscribers; go-redis
// would send each to another node (PUBLISH has no key), where they could
// overtake each other on the bus, so they all go to the master of the
// channel's slot, which is also where go-redis subscribes.
func (s *Store) PublishChange(ctx context.Context, id string) error {
	const op = "redisstore.PublishChange"
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return err
	}
	var c redis.Cmdable = s.rdb
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, s.changesChannel())
		if err != nil {
			return unavailable(op, err)
		}
		c = m
	}
	return unavailable(op, c.Publish(ctx, s.changesChannel(), id).Err())
}

// SubscribeChanges implements incidents.Changes. The Store holds one
// subscription (one connection) for all its subscribers, from the first
// call until Close; go-redis re-subscribes when the connection drops
// (Redis restarted, a failover), and changes published meanwhile are
// lost (delivery is best effort). Each subscriber gets every change once
// it is subscribed, with the semantics of consolestore.Hub: an ID it has
// not read yet is not queued twice, and past 1,024 unread IDs the oldest
// is dropped (counted by ChangesDropped); a slow reader never holds up
// the others, the subscription's connection or a publisher.
func (s *Store) SubscribeChanges(ctx context.Context) (<-chan string, error) {
	const op = "redisstore.SubscribeChanges"
	if err := s.startChanges(ctx); err != nil {
		return nil, unavailable(op, err)
	}
	ch, ok := s.changes.hub.Subscribe(ctx)
	if !ok {
		return nil, incidents.Errorf(incidents.Unavailable, "the store is closed")
	}
	return ch, nil
}

// startChanges opens the Store's subscription unless it is open, and
// waits until Redis has confirmed it: a change published after
// SubscribeChanges returns is delivered.
func (s *Store) startChanges(ctx context.Context) error {
	c := &s.changes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return incidents.Errorf(incidents.Unavailable, "the store is closed")
	}
	if c.ps != nil {
		return nil
	}
	// The subscription outlives the caller's context: it is the Store's.
	bg := context.WithoutCancel(ctx)
	ps := s.rdb.Subscribe(bg, s.changesChannel())
	rctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if _, err := ps.Receive(rctx); err != nil {
		ps.Close()
		return err
	}
	c.ps = ps
	msgs := ps.Channel()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for m := range msgs {
			// Anything else on the channel is not ours to pass on.
			if id, _, err := incidents.ParseID(m.Payload); err == nil {
				c.hub.Publish(id)
			}
		}
	}()
	return nil
}

// closeChanges ends every subscription and the Store's connection.
func (s *Store) closeChanges() {
	c := &s.changes
	c.mu.Lock()
	c.closed = true
	ps := c.ps
	c.mu.Unlock()
	c.hub.Close()
	if ps != nil {
		ps.Close()
	}
	c.wg.Wait()
}

// ChangesDropped returns how many changes this Store's subscribers lost
// by falling more than 1,024 unread changes behind: for a metric.
func (s *Store) ChangesDropped() int64 { return s.changes.hub.Dropped() }

// RemoveOverride implements incidents.OverrideRemover. Every stored
// override of the schedule with o's person, start and end goes (two that
// match are the same override set twice); who set it does not matter.
func (s *Store) RemoveOverride(ctx context.Context, o incidents.OnCallOverride) error {
	const op = "redisstore.RemoveOverride"
	key := s.overridesKey(o.Schedule)
	m, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return unavailable(op, err)
	}
	var fields []string
	for field, v := range m {
		var x incidents.OnCallOverride
		if json.Unmarshal([]byte(v), &x) == nil && x.Person == o.Person && x.From.Equal(o.From) && x.Until.Equal(o.Until) {
			fields = append(fields, field)
		}
	}
	n := int64(0)
	if len(fields) > 0 {
		slices.Sort(fields)
		if n, err = s.rdb.HDel(ctx, key, fields...).Result(); err != nil {
			return unavailable(op, err)
		}
	}
	if n == 0 { // none matched, or another replica removed it first
		return incidents.Errorf(incidents.NotFound, "%s has no override for %s from %s until %s", o.Schedule, o.Person,
			o.From.UTC().Format(time.RFC3339), o.Until.UTC().Format(time.RFC3339))
	}
	return nil
}
