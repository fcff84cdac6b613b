package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// topologyBudget bounds a topology test from its servers' start to its
// end: past it, the servers are killed, so whatever still talks to them
// fails fast instead of hanging.
const topologyBudget = 60 * time.Second

// topology is a set of redis-server processes one test starts, in a
// directory of its own, and kills when it ends whatever happens.
type topology struct {
	t   testing.TB
	dir string
	// ctx bounds the setup (and anything else the test wants bounded by
	// the budget).
	ctx context.Context

	mu      sync.Mutex
	servers []*redisServer
	killed  bool
	expired atomic.Bool
}

// redisServer is one redis-server process (a data node or a sentinel).
type redisServer struct {
	name string
	addr string // 127.0.0.1:port
	log  string // path of its standard output and error
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
}

// requireBinaries skips t in -short mode or when a binary is missing from
// PATH; when CI=true, a missing binary fails t instead.
func requireBinaries(t testing.TB, names ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Redis servers: skipped in -short mode")
	}
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not on PATH and CI=true: install redis-server (e.g. apt-get install redis-server, which brings redis-cli too): %v", name, err)
			}
			t.Skipf("%s is not on PATH: %v", name, err)
		}
	}
}

// newTopology starts an empty topology whose servers die when t ends, or
// when topologyBudget (or the test binary's deadline) runs out.
func newTopology(t testing.TB, binaries ...string) *topology {
	t.Helper()
	slowtest.Need(t) // Redis servers of the test's own (Cluster, Sentinel): CI, or KLAXON_SLOW_TESTS=1
	requireBinaries(t, binaries...)
	budget := topologyBudget
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			// Leave time for the cleanups to kill and report.
			budget = min(budget, time.Until(deadline)-5*time.Second)
		}
	}
	// TempDir first: cleanups run last registered first, so the servers
	// are dead before their directory is removed.
	top := &topology{t: t, dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	top.ctx = ctx
	watchdog := time.AfterFunc(budget, func() {
		top.expired.Store(true)
		top.killAll()
	})
	t.Cleanup(func() {
		watchdog.Stop()
		cancel()
		top.killAll()
		if top.expired.Load() {
			t.Errorf("the test outlived its %v budget: its Redis servers were killed", budget)
		}
		if t.Failed() {
			top.dumpLogs()
		}
	})
	return top
}

// killAll kills every server and waits for them to exit. It may run more
// than once, from the watchdog and from the cleanup.
func (top *topology) killAll() {
	top.mu.Lock()
	top.killed = true
	servers := append([]*redisServer(nil), top.servers...)
	top.mu.Unlock()
	for _, s := range servers {
		s.kill()
	}
}

func (s *redisServer) kill() {
	_ = s.cmd.Process.Kill() // "already finished" is fine
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

func (s *redisServer) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// dumpLogs shows the end of every server's output.
func (top *topology) dumpLogs() {
	top.mu.Lock()
	servers := append([]*redisServer(nil), top.servers...)
	top.mu.Unlock()
	for _, s := range servers {
		top.t.Logf("--- %s (%s) output:\n%s", s.name, s.addr, tail(s.log, 8<<10))
	}
}

// tail returns at most the last n bytes of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(data) > n {
		data = append([]byte("…"), data[len(data)-n:]...)
	}
	return string(data)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var errPortTaken = errors.New("port taken")

// start starts a redis-server named name with the arguments args returns
// for a free port, and waits until it answers on that port. A server that
// could not bind (another process took a port between our probe and its
// bind) is started again on other ports.
func (top *topology) start(name string, args func(port int) ([]string, error)) (*redisServer, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var s *redisServer
		s, err = top.try(name, args)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortTaken) || top.ctx.Err() != nil {
			break
		}
		top.t.Logf("%s: %v; trying other ports", name, err)
	}
	return nil, fmt.Errorf("start %s: %w", name, err)
}

func (top *topology) try(name string, args func(port int) ([]string, error)) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	argv, err := args(port)
	if err != nil {
		return nil, err
	}
	return top.launch(name, port, argv)
}

// launch starts redis-server with argv, which makes it listen on port,
// and waits until it answers there.
func (top *topology) launch(name string, port int, argv []string) (*redisServer, error) {
	logPath := filepath.Join(top.dir, name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	fmt.Fprintf(out, "### redis-server %s\n", strings.Join(argv, " "))
	cmd := exec.Command("redis-server", argv...)
	cmd.Dir = top.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = serverProcAttr()
	s := &redisServer{name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: logPath, cmd: cmd, done: make(chan struct{})}

	top.mu.Lock()
	if top.killed {
		top.mu.Unlock()
		return nil, errors.New("topology already torn down (budget exceeded?)")
	}
	err = cmd.Start()
	if err == nil {
		top.servers = append(top.servers, s)
	}
	top.mu.Unlock()
	if err != nil {
		return nil, err
	}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(top.ctx); err != nil {
		s.kill()
		log := tail(logPath, 4<<10)
		if strings.Contains(log, "Address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("%v; output:\n%s", err, log)
	}
	return s, nil
}

var processID = regexp.MustCompile(`(?m)^process_id:(\d+)\r?$`)

// waitReady waits until s answers on its port. It checks the answer comes
// from s itself, not from whatever else may have taken the port.
func (s *redisServer) waitReady(ctx context.Context) error {
	c := redis.NewClient(&redis.Options{Addr: s.addr, DialTimeout: 250 * time.Millisecond, ReadTimeout: time.Second, MaxRetries: -1, PoolSize: 1})
	defer c.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if s.exited() {
			return fmt.Errorf("%s exited: %v", s.name, s.cmd.ProcessState)
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		info, err := c.Info(pctx, "server").Result()
		cancel()
		if err == nil {
			m := processID.FindStringSubmatch(info)
			if m != nil && m[1] == strconv.Itoa(s.cmd.Process.Pid) {
				return nil
			}
			err = fmt.Errorf("%s is answered by another process (%v)", s.addr, m)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready on %s: %v (last error: %v)", s.name, s.addr, ctx.Err(), last)
		case <-s.done:
		case <-tick.C:
		}
	}
}

// serverMajor is redis-server's major version (0 if unknown).
var serverMajor = sync.OnceValue(func() int {
	out, _ := exec.Command("redis-server", "--version").Output()
	m := regexp.MustCompile(`v=(\d+)\.`).FindSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
})

// poll calls check every 50ms until it returns nil or ctx ends; it then
// returns check's last error.
func poll(ctx context.Context, what string, check func(context.Context) error) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err := check(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %v (last: %v)", what, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startCluster starts n masters and joins them in a Redis Cluster with
// redis-cli, then waits until every node reports cluster_state:ok. It
// returns the nodes' addresses.
func (top *topology) startCluster(n int) ([]string, error) {
	var addrs []string
	for i := 1; i <= n; i++ {
		conf := filepath.Join(top.dir, fmt.Sprintf("nodes-%d.conf", i))
		s, err := top.start(fmt.Sprintf("node-%d", i), func(port int) ([]string, error) {
			_ = os.Remove(conf) // left by an attempt that could not bind
			argv := []string{
				"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
				"--cluster-enabled", "yes", "--cluster-config-file", conf, "--cluster-node-timeout", "2000",
				"--dir", top.dir, "--save", "", "--appendonly", "no",
			}
			if serverMajor() >= 7 {
				// The bus port would be port+10000: pick it too, so it
				// is free and below 65536.
				bus, err := freePort()
				if err != nil {
					return nil, err
				}
				argv = append(argv, "--cluster-port", strconv.Itoa(bus))
			} else if port > 55535 {
				return nil, fmt.Errorf("%w: %d leaves no room for its cluster bus port", errPortTaken, port)
			}
			return argv, nil
		})
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, s.addr)
	}

	ctx, cancel := context.WithTimeout(top.ctx, 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cli := exec.CommandContext(ctx, "redis-cli", args...)
	cli.SysProcAttr = serverProcAttr()
	cli.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cli.Stdout, cli.Stderr = &out, &out
	if err := cli.Run(); err != nil {
		return nil, fmt.Errorf("redis-cli %s: %v; output:\n%s", strings.Join(args, " "), err, out.String())
	}
	if !strings.Contains(out.String(), "All 16384 slots covered") {
		return nil, fmt.Errorf("redis-cli --cluster create did not cover every slot; output:\n%s", out.String())
	}

	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
		err := poll(ctx, "cluster state on "+addr, func(ctx context.Context) error {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			want := []string{"cluster_state:ok", "cluster_slots_assigned:16384", fmt.Sprintf("cluster_known_nodes:%d", n)}
			for _, w := range want {
				if !strings.Contains(info, w+"\r\n") && !strings.HasSuffix(info, w) {
					return fmt.Errorf("CLUSTER INFO lacks %s:\n%s", w, info)
				}
			}
			return nil
		})
		c.Close()
		if err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// startSentinel starts a master and one sentinel monitoring it as
// masterName, and waits until the sentinel is connected to it. It returns
// the master's and the sentinel's addresses.
func (top *topology) startSentinel(masterName string) (master, sentinel string, err error) {
	m, err := top.start("master", func(port int) ([]string, error) {
		return []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
			"--dir", top.dir, "--save", "", "--appendonly", "no",
		}, nil
	})
	if err != nil {
		return "", "", err
	}
	mhost, mport, _ := net.SplitHostPort(m.addr)
	conf := filepath.Join(top.dir, "sentinel.conf")
	s, err := top.start("sentinel", func(port int) ([]string, error) {
		// Written afresh at each attempt: the sentinel rewrites it.
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %q\nsentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 2000\n",
			port, top.dir, masterName, mhost, mport, masterName)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		return []string{conf, "--sentinel"}, nil
	})
	if err != nil {
		return "", "", err
	}

	ctx, cancel := context.WithTimeout(top.ctx, 20*time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.addr, DialTimeout: time.Second, MaxRetries: -1})
	defer sc.Close()
	err = poll(ctx, "sentinel "+s.addr+" to know "+masterName, func(ctx context.Context) error {
		addr, err := sc.GetMasterAddrByName(ctx, masterName).Result()
		if err != nil {
			return err
		}
		if len(addr) != 2 || net.JoinHostPort(addr[0], addr[1]) != m.addr {
			return fmt.Errorf("get-master-addr-by-name = %v, want %s", addr, m.addr)
		}
		state, err := sc.Master(ctx, masterName).Result()
		if err != nil {
			return err
		}
		if state["flags"] != "master" { // not "master,disconnected", nor s_down
			return fmt.Errorf("sentinel master flags = %q", state["flags"])
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return m.addr, s.addr, nil
}
