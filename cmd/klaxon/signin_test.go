package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/console"
)

// klaxon signin-link prints a link that a running klaxon takes, once,
// without asking it anything; with no secret in the config, the embedded
// store's klaxon and the verb share one kept beside the store.
func TestSigninLink(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s}
store: {data_dir: %q}
people: [{name: Alice}, {name: bob}]
`, data))
	// Before klaxon ever ran: the verb makes the secret.
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"signin-link", "alice", "-c", cfg}, &out, &errb); err != nil {
		t.Fatalf("signin-link: %v\n%s", err, errb.String())
	}
	link := strings.TrimSpace(out.String())
	if !strings.HasPrefix(link, "http://127.0.0.1:0/ui/signin/link?t=") || !strings.Contains(errb.String(), "server.public_url is not set") {
		t.Fatalf("link %q, stderr %q", link, errb.String())
	}
	if st, err := os.Stat(filepath.Join(data, "console.secret")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("console.secret: %v %v", st, err)
	}
	c, _ := bot.LoadConfig(cfg, nil)
	secret, err := consoleSecret(c)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	if who, _, err := console.VerifyLink(secret, u.Query().Get("t"), time.Now()); err != nil || who != "Alice" {
		t.Fatalf("the link is for %q (%v), want Alice as people names her", who, err)
	}

	base, logs, stop := startServe(t, cfg)
	defer stop()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	use := func() int {
		res, err := client.PostForm(base+"/ui/signin/link", url.Values{"t": {u.Query().Get("t")}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := use(); code != http.StatusSeeOther {
		t.Fatalf("the printed link: %d\n%s", code, logs)
	}
	if code := use(); code != http.StatusUnauthorized {
		t.Errorf("the printed link, again: %d", code)
	}

	// Someone not in people: a usage error that suggests the name.
	err = run(context.Background(), []string{"signin-link", "bobb", "-c", cfg}, io.Discard, io.Discard)
	var u2 usageError
	if !errors.As(err, &u2) || !strings.Contains(err.Error(), `"bobb" is not in people`) || !strings.Contains(err.Error(), "bob") {
		t.Errorf("unknown person: %v", err)
	}
}

// With Redis and nothing to derive a key from, the verb says what to set.
func TestSigninLinkNeedsSecret(t *testing.T) {
	cfg := writeFile(t, "klaxon.yaml", `
store: {redis: {url: "redis://127.0.0.1:6379/15"}}
people: [{name: alice}]
`)
	err := run(context.Background(), []string{"signin-link", "alice", "-c", cfg}, io.Discard, io.Discard)
	if !errors.Is(err, bot.ErrNoConsoleSecret) {
		t.Errorf("got %v, want %v", err, bot.ErrNoConsoleSecret)
	}
}
