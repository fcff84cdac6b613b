package storetest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisURL is where tests find Redis: $KLAXON_TEST_REDIS_URL, by default
// database 15 of the local server.
func RedisURL() string {
	if u := os.Getenv("KLAXON_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

// Redis returns a client for RedisURL(), closed when t ends. When Redis does
// not answer it skips t on a developer's machine and fails it when CI=true.
func Redis(t testing.TB) redis.UniversalClient {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("KLAXON_TEST_REDIS_URL: %v", err)
	}
	opts.Protocol = 2 // as klaxon serve does
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s is unreachable and CI=true: %v", RedisURL(), err)
		}
		t.Skipf("Redis at %s is unreachable: %v", RedisURL(), err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

var prefixes atomic.Int64

// Prefix returns a key prefix that no other test, run or process uses.
func Prefix(name string) string {
	return fmt.Sprintf("klaxontest-%s-%d-%d-%d", name, os.Getpid(), time.Now().UnixNano()%1e6, prefixes.Add(1))
}

// DeleteKeys removes every key a redisstore with this prefix wrote
// (prefix:* and {prefix}:*) from a single node.
func DeleteKeys(rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	for _, pattern := range []string{prefix + ":*", "{" + prefix + "}:*"} {
		var keys []string
		iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			rdb.Del(ctx, keys[:n]...)
			keys = keys[n:]
		}
	}
}
