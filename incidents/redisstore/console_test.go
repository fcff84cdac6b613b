package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// newReplicas returns n stores under one fresh prefix, each on a client of
// its own, as n klaxon replicas on one Redis.
func newReplicas(t testing.TB, n int) []incidents.Store {
	prefix := storetest.Prefix("replicas")
	out := make([]incidents.Store, n)
	var last redis.UniversalClient
	for i := range out {
		last = storetest.Redis(t)
		s := redisstore.New(last, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	t.Cleanup(func() { storetest.DeleteKeys(last, prefix) })
	return out
}

// replicasOn returns a storetest.NewReplicas making stores on rdb under
// one fresh prefix each time.
func replicasOn(rdb redis.UniversalClient) storetest.NewReplicas {
	return func(t testing.TB, n int) []incidents.Store {
		prefix := fmt.Sprintf("klaxontopo-%d-%d", os.Getpid(), topologyPrefixes.Add(1))
		out := make([]incidents.Store, n)
		for i := range out {
			s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out
	}
}

// dump returns every key under prefix with its whole value, as a copy of
// the database would hold them.
func dump(t *testing.T, rdb redis.UniversalClient, prefix string) []byte {
	t.Helper()
	ctx := context.Background()
	var out []byte
	for _, pattern := range []string{prefix + ":*", "{" + prefix + "}:*"} {
		iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			out = append(out, k...)
			out = append(out, '\n')
			switch typ := rdb.Type(ctx, k).Val(); typ {
			case "string":
				out = append(out, rdb.Get(ctx, k).Val()...)
			case "hash":
				for f, v := range rdb.HGetAll(ctx, k).Val() {
					out = append(out, f+"="+v+"\n"...)
				}
			case "list":
				out = append(out, strings.Join(rdb.LRange(ctx, k, 0, -1).Val(), "\n")...)
			case "zset":
				out = append(out, strings.Join(rdb.ZRange(ctx, k, 0, -1).Val(), "\n")...)
			default:
				t.Fatalf("key %s has type %q, which dump does not read", k, typ)
			}
			out = append(out, '\n')
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A copy of Redis opens no session: no key or value holds a session's ID.
// A feed's token is kept once, as the value of its feed (FeedToken returns
// it), never in a key or a field name.
func TestSecretsInRedis(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("secrets")
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	defer s.Close()
	defer storetest.DeleteKeys(rdb, prefix)
	ids := storetest.SessionSecrets(t, s)
	tok, err := s.FeedToken(t.Context(), "person:alice")
	if err != nil {
		t.Fatal(err)
	}
	data := dump(t, rdb, prefix)
	if !strings.Contains(string(data), prefix+":sess:{") {
		t.Fatalf("no session key in the dump:\n%s", data)
	}
	if id, found := storetest.Contains(data, ids); found {
		t.Fatalf("the session ID %s is stored in Redis:\n%s", id, data)
	}
	if n := strings.Count(string(data), tok); n != 1 {
		t.Fatalf("the feed token appears %d times in Redis, want once (the feed's value):\n%s", n, data)
	}
	if !strings.Contains(string(data), "person:alice="+tok+"\n") {
		t.Fatalf("the token is not (only) the feed's value:\n%s", data)
	}
	// Rotating deletes the old token's lookup entry.
	for range 3 {
		if _, err := s.RotateFeedToken(t.Context(), "person:alice"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rdb.HLen(t.Context(), "{"+prefix+"}:feeds:bytoken").Result(); err != nil || n != 1 {
		t.Fatalf("after rotations the lookup hash has %d entries, %v; want 1", n, err)
	}
}

// The session's TTL in Redis ends when it expires.
func TestSessionTTL(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("ttl")
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	defer s.Close()
	defer storetest.DeleteKeys(rdb, prefix)
	ctx := t.Context()
	now := time.Now()
	x := incidents.Session{ID: "0123456789abcdef", Person: "alice", Method: "link", CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
	if err := s.PutSession(ctx, x); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, prefix+":sess:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("session keys = %v, %v", keys, err)
	}
	ttl, err := rdb.PTTL(ctx, keys[0]).Result()
	if err != nil || ttl <= 12*time.Hour-time.Minute || ttl > 12*time.Hour {
		t.Fatalf("the session key's TTL is %v, %v; want about 12h", ttl, err)
	}
}

// On Cluster a PUBLISH reaches subscribers on every node, not only the
// one it was sent to (the cluster bus forwards it).
func testChangesEveryNode(t *testing.T, rdb *redis.ClusterClient, addrs []string) {
	prefix := fmt.Sprintf("klaxontopo-%d-%d", os.Getpid(), topologyPrefixes.Add(1))
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var subs []*redis.PubSub
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer c.Close()
		ps := c.Subscribe(ctx, prefix+":changes")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatalf("SUBSCRIBE on %s: %v", addr, err)
		}
		subs = append(subs, ps)
	}
	for i := range 5 {
		id := incidents.FormatID(int64(i + 1))
		if err := s.PublishChange(ctx, id); err != nil {
			t.Fatal(err)
		}
		for j, ps := range subs {
			m, err := ps.ReceiveMessage(ctx)
			if err != nil || m.Payload != id {
				t.Fatalf("the subscriber on %s got %v, %v; want %s", addrs[j], m, err, id)
			}
		}
	}
	// And the store's own subscription, wherever go-redis put it.
	ch, err := s.SubscribeChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PublishChange(ctx, "INC-42"); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-ch:
		if id != "INC-42" {
			t.Fatalf("the store's subscriber got %s", id)
		}
	case <-ctx.Done():
		t.Fatal("the store's subscriber got nothing")
	}
}

// A subscription survives a restart of Redis: go-redis reconnects and
// subscribes again, and the channel stays open. (Changes published while
// Redis is down are lost: delivery is best effort.)
func TestChangesSurviveRestart(t *testing.T) {
	top := newTopology(t, "redis-server")
	args := func(port int) ([]string, error) {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
			"--dir", top.dir, "--save", "", "--appendonly", "no"}, nil
	}
	srv, err := top.start("redis", args)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr, DialTimeout: time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	sub := redisstore.New(rdb, redisstore.Options{ReconcileEvery: -1})
	defer sub.Close()
	pubClient := redis.NewClient(&redis.Options{Addr: srv.addr, DialTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { pubClient.Close() })
	pub := redisstore.New(pubClient, redisstore.Options{ReconcileEvery: -1})
	defer pub.Close()

	ctx, cancel := context.WithTimeout(top.ctx, 40*time.Second)
	defer cancel()
	ch, err := sub.SubscribeChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishChange(ctx, "INC-1"); err != nil {
		t.Fatal(err)
	}
	if id := <-ch; id != "INC-1" {
		t.Fatalf("before the restart: got %q", id)
	}

	srv.kill()
	_, port, _ := strings.Cut(srv.addr, ":")
	p, _ := strconv.Atoi(port)
	argv, _ := args(p)
	began := time.Now()
	var again *redisServer
	for again == nil {
		// The port may linger a moment after the kill.
		if again, err = top.launch("redis-again", p, argv); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("restart on %s: %v", srv.addr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("Redis restarted on %s in %v", srv.addr, time.Since(began).Round(time.Millisecond))

	// Publish until the subscriber hears one: it re-subscribes on its own.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n, heard := 2, false; !heard; n++ {
		select {
		case id, ok := <-ch:
			if !ok {
				t.Fatal("the subscription's channel closed when Redis restarted")
			}
			if !strings.HasPrefix(id, "INC-") {
				t.Fatalf("got %q", id)
			}
			heard = true
			t.Logf("delivered again %v after the restart began", time.Since(began).Round(time.Millisecond))
		case <-tick.C:
			if err := pub.PublishChange(ctx, incidents.FormatID(int64(n))); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("publish while reconnecting: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("no change delivered after Redis restarted")
		}
	}
}

// BenchmarkGetSession reads one session (what the console does on every
// request): one GET through the shared pipelines.
//
//	go test -run '^$' -bench GetSession -benchtime 20000x ./incidents/redisstore/
func BenchmarkGetSession(b *testing.B) {
	s := newStore(b).(*redisstore.Store)
	storetest.BenchGetSession(b, s)
}
