package redisstore

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// A write on the wire is waited for, whatever the caller's context: the
// caller must never report as failed a change that was made.
func TestPipelinerWaitsForAWriteOnTheWire(t *testing.T) {
	rdb := storetest.Redis(t)
	key := storetest.Prefix("pipe") + ":k"
	defer rdb.Del(context.Background(), key)
	p := newPipeliner(rdb, 1, 8, 5*time.Second)
	defer p.close()
	// A script that busies Redis for 300 ms, then writes.
	slow := redis.NewScript(`
local t0 = redis.call('TIME')
local start = tonumber(t0[1]) * 1000000 + tonumber(t0[2])
while true do
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000000 + tonumber(t[2]) - start > 300000 then break end
end
return redis.call('SET', KEYS[1], 'written')`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	var cmd *redis.Cmd
	start := time.Now()
	err := p.do(ctx, func(pipe redis.Pipeliner) { cmd = slow.Eval(context.Background(), pipe, []string{key}) })
	if err != nil {
		t.Fatalf("do = %v after %s: a write on the wire was reported as failed", err, time.Since(start))
	}
	if cmd.Err() != nil {
		t.Fatalf("the script failed: %v", cmd.Err())
	}
	if v, _ := rdb.Get(context.Background(), key).Result(); v != "written" {
		t.Fatalf("key = %q, want written", v)
	}
}

// A job no worker took before its caller gave up is never sent.
func TestPipelinerDropsAJobNotYetSent(t *testing.T) {
	// A server that accepts and never answers: the one worker hangs on
	// its first exchange until the pipeliner's timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), Protocol: 2, DialTimeout: time.Second,
		ReadTimeout: 400 * time.Millisecond, WriteTimeout: 400 * time.Millisecond, DisableIdentity: true})
	defer rdb.Close()
	p := newPipeliner(rdb, 1, 1, 400*time.Millisecond)
	defer p.close()

	first := make(chan error, 1)
	go func() {
		first <- p.do(context.Background(), func(pipe redis.Pipeliner) { pipe.Ping(context.Background()) })
	}()
	time.Sleep(50 * time.Millisecond) // the worker is on the wire with it
	var queued atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.do(ctx, func(pipe redis.Pipeliner) { queued.Store(true); pipe.Set(context.Background(), "k", "v", 0) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("do = %v, want the caller's deadline", err)
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Fatalf("a job not yet sent held its caller %s past the deadline", d)
	}
	<-first
	time.Sleep(100 * time.Millisecond) // the worker is free and has looked at the queue
	if queued.Load() {
		t.Fatal("a job dropped by its caller was queued on a pipeline")
	}
}
