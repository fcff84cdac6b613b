// Package redisstore is the incidents.Store on Redis, shared by every
// klaxon replica. It works on a single node, behind Sentinel and on
// Cluster (through redis.UniversalClient).
//
// Layout (P is the key prefix, "klaxon" by default):
//
//	P:inc:{INC-42}...     the incident (see record.go): its summary and its
//	                      Stat, alerts, their order and rank, timeline;
//	                      changed only by a compare-and-set script on its
//	                      version
//	P:grp:{<hash>}        the incident a (source, group key) belongs to
//	P:grp:{<hash>}:lock   lease held while a group's incident is being opened
//	P:fp:{<hash>}         the incident a (source, fingerprint) belongs to
//	{P}:seq               incident number counter
//	{P}:idx:all           zset id → number, every incident
//	{P}:idx:<state>       zset id → number, per state
//	{P}:idx:team:<team>   zset id → number, the team's incidents (<team> is
//	                      query-escaped, so no name holds a colon)
//	{P}:idx:team:<team>:<state>
//	                      zset id → number, the team's incidents per state
//	{P}:idx:teamof        hash id → <team> the incident is filed under
//	{P}:idx:created       zset id → ms: when each incident was created
//	{P}:idx:schema        "2" once every incident is filed by team and
//	                      creation time (Backfill)
//	{P}:idx:stats         "1" once every incident stored before Stats has
//	                      its Stat (BackfillStats; see stats.go)
//	{P}:idx:ver           hash id → version last indexed
//	{P}:idx:dirty         zset id → ms: changes not yet indexed (latest mark)
//	{P}:idx:pend          hash id → the highest version marked dirty
//	{P}:outbox            zset id → ms: when each pending incident is due
//	                      (while claimed: when its claim ends)
//	{P}:outbox:seq        hash id → changes marked pending so far
//	{P}:outbox:since      zset id → ms: when each pending item became pending
//	{P}:outbox:claim      hash id → the claim's token (its lease end, ms)
//	{P}:esc               zset id → ms: when each incident's next escalation
//	                      step is due (while claimed: when its claim ends)
//	P:inc:{INC-42}:step:K a step of its escalation run (SET NX, with a TTL)
//	P:inc:{INC-42}:dlv    hash destination → delivery (see outbox.go)
//	P:once:{<hash>}       a request signature: "held" while its request is
//	                      handled, then "spent" (incidents.Once), with a TTL
//	P:sess:{<sha256>}     a console session, by the SHA-256 of its ID, with
//	                      a TTL (see console.go, as for the next five)
//	P:inc:{INC-42}:pm     list of the postmortem's versions, oldest first
//	P:inc:{INC-42}:pm:text
//	                      hash version → text
//	{P}:feeds             hash calendar feed → its token
//	{P}:feeds:bytoken     hash sha256 of a token → its feed
//	P:changes             pub/sub channel: IDs of changed incidents
//
// Keys that one script touches share a hash tag, so every script runs on one
// Cluster slot: the team sets' names are made inside the index scripts,
// from the {P} prefix, so they share the slot of the keys the scripts
// declare. The indexes live in their own slot, so they are updated
// after the incident: an incident is marked dirty before a change and the
// index script, which also marks it pending in the outbox, clears the mark;
// a reconcile loop re-indexes marks left behind by a crash, so no change is
// ever written without its cards being synced. Hot paths touch a constant
// number of keys: no scans, whatever the number of incidents stored. List
// reads the number-scored indexes (a team's per state, when it asks for a
// team and states) and the incidents' summaries, never their alerts or
// timelines; a window of creation times becomes a range of numbers through
// {P}:idx:created (see incidents.CreationSkew). Stats reads the same
// indexes and the incidents' Stat records (stats.go).
package redisstore

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/statrec"
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Prefix starts every key; default "klaxon".
	Prefix string
	// LockTTL bounds how long a crashed replica can block the opening of a
	// group's incident; default 10s.
	LockTTL time.Duration
	// ReconcileEvery is how often dirty index marks older than it are
	// repaired; default 30s; negative disables the loop.
	ReconcileEvery time.Duration
	// Logger receives reconcile errors; default slog.Default().
	Logger *slog.Logger
	// Pipelines is how many shared pipelines may be on the wire at once;
	// default 2. Concurrent requests' commands share them.
	Pipelines int
	// Timeout bounds one exchange with Redis; default 5s.
	Timeout time.Duration
	// MaxStats is the most records one Stats call returns (a report over
	// more is refused); default, and at most, incidents.MaxStats.
	MaxStats int
}

// Store is an incidents.Store on Redis.
type Store struct {
	rdb    redis.UniversalClient
	opts   Options
	prefix string
	kSeq   string
	kAll   string
	kVer   string
	kDirty string
	kPend  string
	kState map[incidents.State]string
	// team and creation-time indexes (see index.go)
	kCreated, kTeamOf, kTeam, kSchema string

	// backfilled is closed once the team and creation-time indexes hold
	// every incident (Backfill); List by team or time waits for it.
	backfilled chan struct{}

	kOutbox, kOutSeq, kOutSince, kOutClaim string
	kEsc                                   string

	maxStats int // Options.MaxStats, within 1..incidents.MaxStats

	// cluster: a pipeline's batches for different nodes run concurrently,
	// so a dirty mark is sent in a round trip of its own, before the write.
	cluster bool

	pipe *pipeliner

	changes changeFeed // the console's live changes (console.go)

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ incidents.Store = (*Store)(nil)

const maxAttempts = 100

var (
	// markScript marks an incident dirty before a change is written: the
	// time of the latest mark and the highest version marked. KEYS: dirty,
	// pend. ARGV: id, version, now ms.
	markScript = redis.NewScript(`
local p = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[2]) > p then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1`)

	// indexScript files an incident under its state, its team (sets
	// generated from ARGV[10], in the same slot) and its creation time,
	// and marks it pending in the outbox (due at once unless a worker
	// holds it), unless a later version was filed already; then it clears
	// the dirty mark if no later version was marked since, or (reconcile,
	// ARGV[6]) if the mark is older than the cutoff. KEYS: all, triggered,
	// acknowledged, resolved, ver, dirty, outbox, outbox seq, outbox
	// since, pend, outbox claim, escalations, created, teamof. ARGV: id,
	// number, state position (1..3), version, now ms, cutoff ms or '',
	// escalation due ms or '', created ms, team (escaped; '' for none),
	// team key prefix, the three state names.
	indexScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or '0')
local ver = tonumber(ARGV[4])
if cur < ver then
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[4])
  if ARGV[7] == '' then
    redis.call('ZREM', KEYS[12], ARGV[1])
  else
    redis.call('ZADD', KEYS[12], ARGV[7], ARGV[1])
  end
  redis.call('HINCRBY', KEYS[8], ARGV[1], 1)
  if redis.call('HEXISTS', KEYS[11], ARGV[1]) == 0 then
    redis.call('ZADD', KEYS[7], 'LT', ARGV[5], ARGV[1])
  end
  redis.call('ZADD', KEYS[9], 'NX', ARGV[5], ARGV[1])
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  for i = 1, 3 do
    if i == tonumber(ARGV[3]) then
      redis.call('ZADD', KEYS[i + 1], ARGV[2], ARGV[1])
    else
      redis.call('ZREM', KEYS[i + 1], ARGV[1])
    end
  end
  redis.call('ZADD', KEYS[13], ARGV[8], ARGV[1])
  local old = redis.call('HGET', KEYS[14], ARGV[1])
  if old and old ~= ARGV[9] then
    local k = ARGV[10] .. old
    redis.call('ZREM', k, ARGV[1])
    for i = 1, 3 do redis.call('ZREM', k .. ':' .. ARGV[10 + i], ARGV[1]) end
  end
  if ARGV[9] == '' then
    redis.call('HDEL', KEYS[14], ARGV[1])
  else
    redis.call('HSET', KEYS[14], ARGV[1], ARGV[9])
    local k = ARGV[10] .. ARGV[9]
    redis.call('ZADD', k, ARGV[2], ARGV[1])
    for i = 1, 3 do
      if i == tonumber(ARGV[3]) then
        redis.call('ZADD', k .. ':' .. ARGV[10 + i], ARGV[2], ARGV[1])
      else
        redis.call('ZREM', k .. ':' .. ARGV[10 + i], ARGV[1])
      end
    end
  end
end
local clear = tonumber(redis.call('HGET', KEYS[10], ARGV[1]) or '0') <= ver
if ARGV[6] ~= '' then
  local at = redis.call('ZSCORE', KEYS[6], ARGV[1])
  clear = clear or (at and tonumber(at) <= tonumber(ARGV[6]))
end
if clear then
  redis.call('ZREM', KEYS[6], ARGV[1])
  redis.call('HDEL', KEYS[10], ARGV[1])
end
return 1`)

	// unlockScript releases a lease only if it still holds our token.
	unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// New returns a Store on rdb. Close stops its reconcile loop but leaves rdb
// open: the caller owns the client.
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = "klaxon"
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = 10 * time.Second
	}
	if opts.ReconcileEvery == 0 {
		opts.ReconcileEvery = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Pipelines <= 0 {
		opts.Pipelines = 2
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	p := opts.Prefix
	tag := "{" + p + "}"
	s := &Store{
		rdb: rdb, opts: opts, prefix: p,
		kSeq: tag + ":seq", kAll: tag + ":idx:all", kVer: tag + ":idx:ver", kDirty: tag + ":idx:dirty", kPend: tag + ":idx:pend",
		kState:  map[incidents.State]string{},
		kOutbox: tag + ":outbox", kOutSeq: tag + ":outbox:seq", kOutSince: tag + ":outbox:since", kOutClaim: tag + ":outbox:claim", kEsc: tag + ":esc",
		kCreated: tag + ":idx:created", kTeamOf: tag + ":idx:teamof", kTeam: tag + ":idx:team:", kSchema: tag + ":idx:schema",
		backfilled: make(chan struct{}),
		maxStats:   statrec.Limit(opts.MaxStats),
		stop:       make(chan struct{}),
		pipe:       newPipeliner(rdb, opts.Pipelines, 64, opts.Timeout),
	}
	for _, st := range incidents.States {
		s.kState[st] = tag + ":idx:" + string(st)
	}
	_, s.cluster = rdb.(*redis.ClusterClient)
	if opts.ReconcileEvery > 0 {
		s.wg.Add(1)
		go s.reconcileLoop()
	}
	s.wg.Add(1)
	go s.backfillLoop()
	return s
}

// Close stops the reconcile loop and the pipelines, and ends the
// subscriptions to changes.
func (s *Store) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
		close(s.stop)
	}
	s.wg.Wait()
	s.closeChanges()
	s.pipe.close()
	return nil
}

// exec runs queue's commands in a shared pipeline and returns the first
// error among cmds (redis.Nil is not one), or the context's.
func (s *Store) exec(ctx context.Context, queue func(redis.Pipeliner) []redis.Cmder) error {
	var cmds []redis.Cmder
	if err := s.pipe.do(ctx, func(p redis.Pipeliner) { cmds = queue(p) }); err != nil {
		return err
	}
	return cmdErr(cmds...)
}

func hashed(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Group keys and fingerprints are hashed: they may hold braces, which would
// break the hash tag, and may be long.
func (s *Store) grpKey(source, gk string) string {
	return s.prefix + ":grp:{" + hashed(source, gk) + "}"
}

func (s *Store) fpKey(source, fp string) string {
	return s.prefix + ":fp:{" + hashed(source, fp) + "}"
}

func unavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *incidents.Error
	if errors.As(err, &ke) {
		return err
	}
	return incidents.Wrap(incidents.Unavailable, op, err)
}

// Ping implements incidents.Store.
func (s *Store) Ping(ctx context.Context) error {
	return unavailable("redisstore.Ping", s.rdb.Ping(ctx).Err())
}

// index files inc under its state on c (see indexScript); a non-zero
// cutoff clears a dirty mark older than it (reconcile).
func (s *Store) index(ctx context.Context, c redis.Scripter, inc *incidents.Incident, cutoff ...time.Time) *redis.Cmd {
	pos := 0
	for i, st := range incidents.States {
		if st == inc.State {
			pos = i + 1
		}
	}
	keys := []string{s.kAll, s.kState[incidents.Triggered], s.kState[incidents.Acknowledged], s.kState[incidents.Resolved], s.kVer, s.kDirty,
		s.kOutbox, s.kOutSeq, s.kOutSince, s.kPend, s.kOutClaim, s.kEsc, s.kCreated, s.kTeamOf}
	cut := ""
	if len(cutoff) > 0 {
		cut = strconv.FormatInt(cutoff[0].UnixMilli(), 10)
	}
	due := ""
	if d := inc.Due(); !d.IsZero() {
		due = strconv.FormatInt(d.UnixMilli(), 10)
	}
	return indexScript.Eval(ctx, c, keys, inc.ID, inc.Number, pos, inc.Version, time.Now().UnixMilli(), cut, due,
		inc.CreatedAt.UnixMilli(), teamName(inc.Team), s.kTeam, string(incidents.Triggered), string(incidents.Acknowledged), string(incidents.Resolved))
}

// mark queues the dirty mark of version ver of the incident id.
func (s *Store) mark(ctx context.Context, c redis.Scripter, id string, ver int64) *redis.Cmd {
	return markScript.Eval(ctx, c, []string{s.kDirty, s.kPend}, id, ver, time.Now().UnixMilli())
}

// markFirst sends the dirty mark on its own on Cluster, where a pipeline's
// batches for different nodes run concurrently; elsewhere the mark leads
// the write's pipeline.
func (s *Store) markFirst(ctx context.Context, id string, ver int64) error {
	if !s.cluster {
		return nil
	}
	return s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder { return []redis.Cmder{s.mark(ctx, p, id, ver)} })
}

// commit writes a change whose compare-and-set w.queue makes, with extra
// commands, after its dirty mark, then files it (index, outbox). won is
// false when another writer changed the incident first. A change whose
// compare-and-set won is filed even when the request's context has ended
// or another command failed; if filing fails, the dirty mark stays and
// Reconcile files it.
func (s *Store) commit(ctx context.Context, next *incidents.Incident, w *write, extra func(redis.Pipeliner) []redis.Cmder) (won bool, err error) {
	if err := s.markFirst(ctx, next.ID, next.Version); err != nil {
		return false, err
	}
	var cas *redis.Cmd
	err = s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		var cmds []redis.Cmder
		if !s.cluster {
			cmds = append(cmds, s.mark(ctx, p, next.ID, next.Version))
		}
		if extra != nil {
			cmds = append(cmds, extra(p)...)
		}
		cas = w.queue(ctx, p)
		return append(cmds, cas)
	})
	if cas == nil {
		return false, err
	}
	if n, _ := cas.Int(); n != 1 {
		return false, err
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	ierr := s.exec(ictx, func(p redis.Pipeliner) []redis.Cmder { return []redis.Cmder{s.index(ictx, p, next)} })
	return true, errors.Join(err, ierr)
}

// Ingest implements incidents.Store. Round trips: opening an incident takes
// four (look up, lease, number, write), joining one three (look up, load,
// write), a duplicate two and writes nothing.
func (s *Store) Ingest(ctx context.Context, b *incidents.Batch, opts incidents.IngestOptions) (*incidents.IngestResult, error) {
	const op = "redisstore.Ingest"
	if err := b.Validate(); err != nil {
		return nil, err
	}
	gk := s.grpKey(b.Source, b.GroupKey)
	fps := make([]string, len(b.Alerts))
	for i := range b.Alerts {
		fps[i] = b.Alerts[i].Fingerprint
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 2 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, unavailable(op, err)
			}
		}
		mapped, fpIDs, err := s.lookup(ctx, gk, b)
		if err != nil {
			return nil, unavailable(op, err)
		}
		var cur *incidents.Incident
		if mapped != "" {
			if cur, err = s.loadPart(ctx, mapped, fps); err != nil {
				return nil, unavailable(op, err)
			}
		}
		if cur == nil {
			// A group we have not seen: an alert of it may already be
			// part of an open incident (Alertmanager regrouped it).
			if cur, err = s.firstOpen(ctx, fpIDs, fps); err != nil {
				return nil, unavailable(op, err)
			}
		}
		switch incidents.Decide(cur, b, opts.Now, opts.ReopenWindow) {
		case incidents.Ignore:
			return &incidents.IngestResult{}, nil
		case incidents.ApplyTo:
			res, retry, err := s.apply(ctx, b, opts, gk, mapped, cur)
			if err != nil {
				return nil, unavailable(op, err)
			}
			if !retry {
				return res, nil
			}
		case incidents.Create:
			res, retry, err := s.create(ctx, b, opts, gk, mapped)
			if err != nil {
				return nil, unavailable(op, err)
			}
			if !retry {
				return res, nil
			}
		}
	}
	return nil, incidents.Errorf(incidents.Unavailable, "too many concurrent changes to group %q, try again", b.GroupKey)
}

// lookup reads, in one round trip, the incident the group maps to and the
// incidents the batch's alerts map to.
func (s *Store) lookup(ctx context.Context, gk string, b *incidents.Batch) (string, []string, error) {
	var grp *redis.StringCmd
	fps := make([]*redis.StringCmd, len(b.Alerts))
	err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		grp = p.Get(ctx, gk)
		cmds := []redis.Cmder{grp}
		for i := range b.Alerts {
			fps[i] = p.Get(ctx, s.fpKey(b.Source, b.Alerts[i].Fingerprint))
			cmds = append(cmds, fps[i])
		}
		return cmds
	})
	if err != nil {
		return "", nil, err
	}
	ids := make([]string, 0, len(fps))
	for _, c := range fps {
		if c.Val() != "" {
			ids = append(ids, c.Val())
		}
	}
	return grp.Val(), ids, nil
}

// apply writes b's changes to cur. retry is true when another writer
// changed cur first.
func (s *Store) apply(ctx context.Context, b *incidents.Batch, opts incidents.IngestOptions, gk, mapped string, cur *incidents.Incident) (*incidents.IngestResult, bool, error) {
	next := cur.Clone()
	if !next.ApplyBatch(b, opts.Now) {
		if mapped != cur.ID {
			if err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
				return []redis.Cmder{p.Set(ctx, gk, cur.ID, 0)}
			}); err != nil {
				return nil, false, err
			}
		}
		return incidents.Outcome(cur, cur, false, false), false, nil
	}
	next.Version = cur.Version + 1
	opts.Started(cur, next)
	w, err := s.prepareWrite(cur, next)
	if err != nil {
		return nil, false, err
	}
	// One round trip (on Cluster two): the mappings name the incident this
	// batch joins, which is right even if the compare-and-set loses and is
	// retried. Only the writer whose compare-and-set won files that version.
	won, err := s.commit(ctx, next, w, func(p redis.Pipeliner) []redis.Cmder {
		var cmds []redis.Cmder
		if mapped != cur.ID {
			cmds = append(cmds, p.Set(ctx, gk, cur.ID, 0))
		}
		for _, fp := range w.added {
			cmds = append(cmds, p.Set(ctx, s.fpKey(b.Source, fp), cur.ID, 0))
		}
		return cmds
	})
	if err != nil {
		return nil, false, err
	}
	if !won {
		return nil, true, nil
	}
	return incidents.Outcome(cur, next, false, true), false, nil
}

// create opens a new incident for b under the group's lease. retry is true
// when another writer holds the lease or changed the group meanwhile.
func (s *Store) create(ctx context.Context, b *incidents.Batch, opts incidents.IngestOptions, gk, mapped string) (*incidents.IngestResult, bool, error) {
	lock := gk + ":lock"
	token := crand.Text()
	locked := time.Now()
	// Take the lease, then read the group again: openers of this group
	// hold the lease, so if it still maps where we looked, no one opened
	// an incident for it since.
	var lockCmd *redis.BoolCmd
	var again *redis.StringCmd
	if err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		lockCmd = p.SetNX(ctx, lock, token, s.opts.LockTTL)
		again = p.Get(ctx, gk)
		return []redis.Cmder{lockCmd, again}
	}); err != nil {
		return nil, false, err
	}
	if !lockCmd.Val() {
		return nil, true, nil // another replica is opening it
	}
	unlock := func() {
		// With a context of our own: the request's may be done.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		unlockScript.Run(uctx, s.rdb, []string{lock}, token)
	}
	if again.Val() != mapped {
		unlock()
		return nil, true, nil // it changed: decide again
	}
	var incr *redis.IntCmd
	if err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		incr = p.Incr(ctx, s.kSeq)
		return []redis.Cmder{incr}
	}); err != nil {
		unlock()
		return nil, false, err
	}
	n := incr.Val()
	next := incidents.NewIncident(n, b, opts.Now)
	next.Version = 1
	opts.Started(nil, next)
	w, err := s.prepareWrite(nil, next)
	if err != nil {
		unlock()
		return nil, false, err
	}
	// One round trip. A fresh number cannot lose the compare-and-set, and
	// no other writer knows the incident yet, so it is indexed in the same
	// pipeline with plain commands (what indexScript would do for it).
	if err := s.markFirst(ctx, next.ID, next.Version); err != nil {
		unlock()
		return nil, false, err
	}
	var cas *redis.Cmd
	err = s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		var cmds []redis.Cmder
		if !s.cluster {
			cmds = append(cmds, s.mark(ctx, p, next.ID, next.Version))
		}
		for _, fp := range w.added {
			cmds = append(cmds, p.Set(ctx, s.fpKey(b.Source, fp), next.ID, 0))
		}
		cmds = append(cmds, p.Set(ctx, gk, next.ID, 0))
		cas = w.queue(ctx, p)
		z := redis.Z{Score: float64(next.Number), Member: next.ID}
		due := redis.Z{Score: float64(time.Now().UnixMilli()), Member: next.ID}
		cmds = append(cmds, cas,
			p.HSet(ctx, s.kVer, next.ID, next.Version),
			p.ZAdd(ctx, s.kAll, z), p.ZAdd(ctx, s.kState[next.State], z),
			p.ZAdd(ctx, s.kCreated, redis.Z{Score: float64(next.CreatedAt.UnixMilli()), Member: next.ID}),
			p.HIncrBy(ctx, s.kOutSeq, next.ID, 1), p.ZAddNX(ctx, s.kOutbox, due), p.ZAddNX(ctx, s.kOutSince, due),
			p.ZRem(ctx, s.kDirty, next.ID), p.HDel(ctx, s.kPend, next.ID))
		if d := next.Due(); !d.IsZero() {
			cmds = append(cmds, p.ZAdd(ctx, s.kEsc, redis.Z{Score: float64(d.UnixMilli()), Member: next.ID}))
		}
		if t := teamName(next.Team); t != "" {
			cmds = append(cmds, p.HSet(ctx, s.kTeamOf, next.ID, t),
				p.ZAdd(ctx, s.teamKey(t, ""), z), p.ZAdd(ctx, s.teamKey(t, next.State), z))
		}
		if time.Since(locked) < s.opts.LockTTL/2 {
			cmds = append(cmds, p.Del(ctx, lock)) // still surely ours: no need for the script
		} else {
			cmds = append(cmds, unlockScript.Eval(ctx, p, []string{lock}, token))
		}
		return cmds
	})
	if err != nil {
		unlock()
		return nil, false, err
	}
	if n, _ := cas.Int(); n != 1 {
		return nil, false, incidents.Errorf(incidents.Internal, "incident %s exists already: is the counter %s behind?", next.ID, s.kSeq)
	}
	return incidents.Outcome(nil, next, true, true), false, nil
}

// firstOpen returns the first open incident among ids, with the alerts fps
// name.
func (s *Store) firstOpen(ctx context.Context, ids, fps []string) (*incidents.Incident, error) {
	tried := map[string]bool{}
	for _, id := range ids {
		if tried[id] {
			continue
		}
		tried[id] = true
		inc, err := s.loadPart(ctx, id, fps)
		if err != nil {
			return nil, err
		}
		if inc != nil && inc.State.Open() {
			return inc, nil
		}
	}
	return nil, nil
}

func backoff(ctx context.Context, attempt int) error {
	d := time.Millisecond << min(attempt/4, 5) // 1ms … 32ms
	d += rand.N(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Get implements incidents.Store.
func (s *Store) Get(ctx context.Context, id string) (*incidents.Incident, error) {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return nil, err
	}
	inc, err := s.loadFull(ctx, id)
	if err != nil {
		return nil, unavailable("redisstore.Get", err)
	}
	if inc == nil {
		return nil, incidents.Errorf(incidents.NotFound, "%s not found", id)
	}
	return inc, nil
}

// Update implements incidents.Store.
func (s *Store) Update(ctx context.Context, id string, fn func(*incidents.Incident) error) (*incidents.Incident, error) {
	const op = "redisstore.Update"
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 2 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, unavailable(op, err)
			}
		}
		cur, err := s.loadFull(ctx, id)
		if err != nil {
			return nil, unavailable(op, err)
		}
		if cur == nil {
			return nil, incidents.Errorf(incidents.NotFound, "%s not found", id)
		}
		next := cur.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		next.Version = cur.Version + 1
		w, err := s.prepareWrite(cur, next)
		if err != nil {
			return nil, err
		}
		won, err := s.commit(ctx, next, w, nil)
		if err != nil {
			return nil, unavailable(op, err)
		}
		if !won {
			continue
		}
		return next, nil
	}
	return nil, incidents.Errorf(incidents.Unavailable, "too many concurrent changes to %s, try again", id)
}

// Count implements incidents.Store.
func (s *Store) Count(ctx context.Context) (map[incidents.State]int64, error) {
	pipe := s.rdb.Pipeline()
	cmds := map[incidents.State]*redis.IntCmd{}
	for _, st := range incidents.OpenStates {
		cmds[st] = pipe.ZCard(ctx, s.kState[st])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, unavailable("redisstore.Count", err)
	}
	out := map[incidents.State]int64{}
	for st, c := range cmds {
		out[st] = c.Val()
	}
	return out, nil
}

// Reconcile re-indexes incidents whose change of state was marked dirty
// more than olderThan ago and never indexed (the writer died between the
// two steps). It returns how many it repaired.
func (s *Store) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	maxScore := strconv.FormatInt(cutoff.UnixMilli(), 10)
	ids, err := s.rdb.ZRangeByScore(ctx, s.kDirty, &redis.ZRangeBy{Min: "-inf", Max: maxScore, Count: 1000}).Result()
	if err != nil {
		return 0, unavailable("redisstore.Reconcile", err)
	}
	for _, id := range ids {
		inc, err := s.loadPart(ctx, id, nil)
		if err != nil {
			return 0, unavailable("redisstore.Reconcile", err)
		}
		if inc == nil { // opening crashed before the incident was written
			_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.ZRem(ctx, s.kDirty, id)
				p.HDel(ctx, s.kPend, id)
				return nil
			})
		} else {
			err = s.index(ctx, s.rdb, inc, cutoff).Err()
		}
		if err != nil {
			return 0, unavailable("redisstore.Reconcile", err)
		}
	}
	return len(ids), nil
}

func (s *Store) reconcileLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.opts.ReconcileEvery)
			n, err := s.Reconcile(ctx, s.opts.ReconcileEvery)
			cancel()
			if err != nil {
				s.opts.Logger.Warn("redis index reconcile failed", "err", err)
			} else if n > 0 {
				s.opts.Logger.Info("redis index reconciled", "incidents", n)
			}
		}
	}
}
