package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/internal/localtrust"
	"github.com/klaxonbot/klaxon/templates"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	path := configFlag(fs)
	listen := fs.String("listen", "", "listen on `ADDR` (host:port), over the config's server.listen")
	dataDir := fs.String("data-dir", "", "keep the embedded store in `DIR`, over the config's store.data_dir")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	format := fs.String("log-format", "text", "log `format`: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		return err
	}
	cfg, err := bot.LoadConfig(*path, nil)
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	if *listen != "" || *dataDir != "" {
		if *listen != "" {
			cfg.Server.Listen = *listen
		}
		if *dataDir != "" {
			cfg.Store.DataDir = *dataDir
		}
		if err := cfg.Validate(); err != nil {
			return usageError{fmt.Sprintf("--listen/--data-dir: %v", err)}
		}
	}
	tmpl, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return fmt.Errorf("config %s: templates_dir %s: %w", *path, cfg.TemplatesDir, err)
	}
	signer := bot.NewButtonSigner(cfg.ButtonKeySecret())
	chats, err := newChats(cfg, signer)
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	phone, verifyPhone, err := newPhone(cfg)
	if err != nil {
		return fmt.Errorf("config %s: twilio: %w", *path, err)
	}
	pg, err := newPagers(cfg)
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	sources, err := newSources(cfg)
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	silencers, err := newSilencers(cfg, incidents.SystemClock{})
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	datasources, dserrs := newDatasources(cfg)
	if len(dserrs) > 0 {
		return fmt.Errorf("config %s:\n%w", *path, dserrs)
	}
	store, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cdeps := consoleDeps(cfg)
	if cdeps.Secret, err = consoleSecret(cfg); err != nil {
		log.Warn("the web console is off", "err", err)
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (choose another with --listen, or server.listen): %w", cfg.Server.Listen, err)
	}
	defer ln.Close()
	localToken, localPath := localToken(cfg, ln.Addr(), log)
	srv, err := bot.New(cfg, bot.Deps{
		Store:      store,
		Sources:    sources,
		Registerer: reg, Gatherer: reg,
		Logger:      log,
		Version:     versionString(),
		Chats:       chats,
		Templates:   tmpl,
		Phone:       phone,
		VerifyPhone: verifyPhone,
		SMS:         pg.sms,
		SMSInbox:    pg.inbox,
		Mailer:      pg.mailer,
		Pusher:      pg.pusher,
		Console:     cdeps,
		LocalToken:  localToken,
		Silencers:   silencers,
		Datasources: datasources,
	})
	if err != nil {
		return err
	}
	once, _ := store.(incidents.Once)
	in, err := mountInbound(srv, cfg, signer, once, log)
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	hs := srv.HTTPServer()
	base := "http://" + ln.Addr().String()
	if cfg.Server.PublicURL != "" {
		base = strings.TrimRight(cfg.Server.PublicURL, "/")
	}
	log.Info("klaxon listening", "addr", ln.Addr().String(), "version", versionString())
	log.Info("point Alertmanager's webhook_configs url at " + base + "/hooks/alertmanager")
	// Hooks without credentials: open on purpose, or closed (401), and why.
	for _, n := range cfg.Notes() {
		log.Warn(n.Path + ": " + n.Msg)
	}
	switch {
	case cfg.Server.APIToken != "" || len(cfg.APITokens) > 0:
	case localToken != "":
		log.Info("the API takes requests from this machine only (no token configured); the klaxon command here acts with the local token in " + localPath)
		if len(cfg.People) == 0 && cdeps.Secret != nil {
			log.Info("console (this machine's user): " + base + "/ui/?local=" + localToken)
		}
	case cfg.Server.APIOpen:
		log.Warn("server.api_open: the API serves incident data to anyone who can reach " + ln.Addr().String())
	case !isLoopback(ln.Addr()):
		log.Warn("the API answers 401 to everyone: klaxon listens beyond loopback and no token is configured (set api_tokens, or server.api_open: true)")
	}
	for i, w := range cfg.Sources.Webhook {
		log.Info("generic webhook at "+base+"/hooks/webhook/"+w.Name, "source", bot.WebhookSourcePrefix+w.Name)
		if w.HMAC != nil && w.HMAC.TimestampHeader == "" {
			log.Warn(fmt.Sprintf("the webhook %q is signed without a timestamp: a captured request can be replayed at any time (set sources.webhook[%d].hmac.timestamp_header if the sender sends one)", w.Name, i))
		}
	}
	for i, h := range cfg.Heartbeats {
		log.Info("heartbeat at "+base+"/hooks/heartbeat/"+h.Name+" (GET or POST)", "heartbeat", h.Name, "window", h.Window().String())
		if h.HMAC != nil && h.HMAC.TimestampHeader == "" {
			log.Warn(fmt.Sprintf("the heartbeat %q is signed without a timestamp: a captured beat can be replayed at any time and keeps it alive (set heartbeats[%d].hmac.timestamp_header)", h.Name, i))
		}
	}

	for name := range chats {
		log.Info("chat platform configured; cards are kept in sync", "platform", name)
	}
	if cfg.Mattermost != nil && cfg.Server.PublicURL == "" {
		log.Warn("server.public_url is not set: Mattermost cards have no buttons (Mattermost must be able to call klaxon back)")
	}
	// The outbox workers. On the way out they start no new platform call,
	// and the calls in flight finish (one cut short could post a card
	// twice) before the store closes; what waits stays in the outbox for
	// another replica or the next start.
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	workersDone := make(chan struct{})
	go func() { defer close(workersDone); srv.Run(wctx) }()
	waitWorkers := func(deadline context.Context) {
		stopWorkers()
		select {
		case <-workersDone:
		case <-deadline.Done():
			log.Warn("card syncs still in flight at shutdown; their claims pass to another worker when their lease ends")
		}
	}

	in.run(wctx)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
		defer cancel()
		waitWorkers(sctx)
		in.wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", cfg.Server.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	stopWorkers() // at once: the workers wind down while requests finish
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("shutdown timed out; closing remaining connections", "err", err)
		hs.Close()
	}
	waitWorkers(sctx)
	in.wait()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// localToken returns the local token (internal/localtrust) of a klaxon
// reachable from this machine only with no API token configured, and
// where it is kept; "" otherwise, or when it cannot be kept (logged: the
// klaxon command then needs api_tokens to act).
func localToken(cfg *bot.Config, addr net.Addr, log *slog.Logger) (token, path string) {
	if !cfg.LocalOnly() || cfg.Server.APIToken != "" || len(cfg.APITokens) > 0 {
		return "", ""
	}
	t, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", ""
	}
	path, err := localtrust.TokenPath(strconv.Itoa(t.Port))
	if err == nil {
		token, err = localtrust.Ensure(path)
	}
	if err != nil {
		log.Warn("no local token: the klaxon command cannot act on this klaxon without api_tokens", "err", err)
		return "", ""
	}
	return token, path
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("-log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("-log-format %q: want text or json", format)}
}

// openStore opens Redis when the config names it, else the embedded store.
func openStore(ctx context.Context, cfg *bot.Config, log *slog.Logger) (incidents.Store, func(), error) {
	if cfg.Store.Redis == nil {
		s, err := boltstore.OpenWith(cfg.Store.DataDir, boltstore.Options{Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("embedded store in %s: %w", cfg.Store.DataDir, err)
		}
		dir, _ := filepath.Abs(cfg.Store.DataDir)
		log.Info("using the embedded store (set store.redis to share state between replicas)", "data_dir", dir)
		return s, func() { s.Close() }, nil
	}
	rdb, desc, err := redisClient(cfg.Store.Redis)
	if err != nil {
		return nil, nil, err
	}
	redis.SetLogger(redisLogger{log.With("component", "redis")})
	// A store exchange takes at most 3 s: webhooks are answered within
	// 8 s even when Redis hangs (see bot's webhookDeadline).
	s := redisstore.New(rdb, redisstore.Options{Prefix: cfg.Store.Redis.KeyPrefix, Logger: log, Timeout: 3 * time.Second})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		// Start anyway: /readyz says not ready and webhooks answer 503,
		// so senders retry until Redis is back.
		log.Error("Redis is unreachable; webhooks answer 503 until it is back", "redis", desc, "err", err)
	} else {
		log.Info("using Redis", "redis", desc, "key_prefix", cfg.Store.Redis.KeyPrefix)
	}
	return s, func() { s.Close(); rdb.Close() }, nil
}

// redisClient builds a client for the configured mode and a description of
// it without secrets, for logs.
func redisClient(c *bot.RedisConfig) (redis.UniversalClient, string, error) {
	// RESP2: klaxon uses no RESP3 feature, and go-redis then skips its
	// per-command check for push notifications (measured: ~10% faster ingest).
	// Deadlines of the caller's context bound reads and writes too
	// (ContextTimeoutEnabled), so /readyz and webhooks keep their own.
	const dial, io, resp = 3 * time.Second, 3 * time.Second, 2
	switch {
	case c.Sentinel != nil:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.Sentinel.Master, SentinelAddrs: c.Sentinel.Addrs,
			SentinelPassword: c.Sentinel.SentinelPassword.Reveal(),
			Username:         c.Username, Password: firstNonEmpty(c.Password.Reveal(), c.Sentinel.Password.Reveal()),
			DB: c.Sentinel.DB, DialTimeout: dial, ReadTimeout: io, WriteTimeout: io, Protocol: resp, ContextTimeoutEnabled: true,
		}), "sentinel " + c.Sentinel.Master + " via " + strings.Join(c.Sentinel.Addrs, ","), nil
	case c.Cluster != nil:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.Cluster.Addrs, Username: c.Username, Password: c.Password.Reveal(),
			DialTimeout: dial, ReadTimeout: io, WriteTimeout: io, Protocol: resp, ContextTimeoutEnabled: true,
		}), "cluster " + strings.Join(c.Cluster.Addrs, ","), nil
	}
	o, err := redis.ParseURL(c.URL.Reveal())
	if err != nil {
		return nil, "", fmt.Errorf("store.redis.url: not a redis:// URL")
	}
	if c.Username != "" {
		o.Username = c.Username
	}
	if p := c.Password.Reveal(); p != "" {
		o.Password = p
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.Protocol, o.ContextTimeoutEnabled = dial, io, io, resp, true
	return redis.NewClient(o), fmt.Sprintf("%s/%d", o.Addr, o.DB), nil
}

// redisLogger sends go-redis's own messages (dial failures, pool events)
// to the structured log.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
