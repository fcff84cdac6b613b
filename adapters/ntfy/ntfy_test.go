package ntfy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/ntfy"
	"github.com/klaxonbot/klaxon/adapters/ntfy/ntfyfake"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const (
	token   = "tk_0123456789abcdefghijklmnopq"
	ackURL  = "https://klaxon.example.com/ack/INC-42/Zm9vYmFyYmF6"
	incURL  = "https://klaxon.example.com/ui/incidents/INC-42"
	topic   = "alice-pager"
	runbook = "https://runbooks.example.com/payments/latency"
)

func cards(t testing.TB) map[string]*templates.Card {
	t.Helper()
	out := map[string]*templates.Card{}
	for name, inc := range cardtest.Lifecycle() {
		c, err := templates.MustBuiltin().Card(inc, cardtest.Now)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

func push(c *templates.Card) ntfy.Push {
	return ntfy.Push{Card: c, Team: "payments", IncidentURL: incURL, AckURL: ackURL}
}

func noViolations(t *testing.T, s *ntfyfake.Server) {
	t.Helper()
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// wantErr checks that err is an *incidents.Error of kind around an
// *ntfy.Error with code and retryability, showing no secret.
func wantErr(t *testing.T, err error, kind incidents.Kind, code string, temp bool) *ntfy.Error {
	t.Helper()
	var e *ntfy.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) holds no *ntfy.Error", err, err)
	}
	if got := incidents.ErrorKind(err); got != kind {
		t.Errorf("%v: kind %v, want %v", err, got, kind)
	}
	if e.Code != code || e.Temp != temp || e.ErrorCode() != code || e.Retryable() != temp {
		t.Errorf("%v: code %q temp %v, want %q %v", err, e.Code, e.Temp, code, temp)
	}
	for _, secret := range []string{token, "wrong-token-123", "s3cret-pass"} {
		if strings.Contains(err.Error(), secret) || strings.Contains(incidents.ErrorMessage(err), secret) {
			t.Errorf("error %q shows a secret", err)
		}
	}
	if msg := incidents.ErrorMessage(err); !strings.Contains(msg, "push") {
		t.Errorf("user message %q", msg)
	}
	return e
}

func TestSendTriggered(t *testing.T) {
	s := ntfyfake.New(ntfyfake.Options{Token: token})
	defer s.Close()
	c := ntfy.New(ntfy.Options{})
	id, err := c.Send(context.Background(), ntfy.Target{URL: s.TopicURL(topic), Token: token}, push(cards(t)["triggered"]))
	if err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.ID != id || m.Topic != topic {
		t.Errorf("id %q topic %q, sent %q", m.ID, m.Topic, id)
	}
	if m.Title != "SEV1 INC-42 payments: Payments p99 latency above 2s" || m.Priority != 5 ||
		strings.Join(m.Tags, ",") != "rotating_light" || m.Click != incURL {
		t.Errorf("title %q priority %d tags %v click %q", m.Title, m.Priority, m.Tags, m.Click)
	}
	for _, want := range []string{"Triggered · SEV1 · open for 12m", "What to do: Check the payments DB connection pool",
		"Value: 3.2s", "Threshold: 2s", "• Firing: HighLatency on pay-1:9100"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	if len(m.Actions) != 2 {
		t.Fatalf("actions %+v", m.Actions)
	}
	ack, rb := m.Actions[0], m.Actions[1]
	if ack.Action != "http" || ack.Label != "Acknowledge" || ack.URL != ackURL || ack.Method != "POST" || !ack.Clear {
		t.Errorf("ack action %+v", ack)
	}
	if rb.Action != "view" || rb.Label != "Runbook" || rb.URL != runbook {
		t.Errorf("runbook action %+v", rb)
	}
	if got := m.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization %q", got)
	}
	if got := m.Header.Get("X-Priority"); got != "5" {
		t.Errorf("X-Priority %q", got)
	}
}

func TestSendUpdates(t *testing.T) {
	s := ntfyfake.New(ntfyfake.Options{Username: "klaxon", Password: "s3cret-pass"})
	defer s.Close()
	c := ntfy.New(ntfy.Options{})
	target := ntfy.Target{URL: s.TopicURL(topic), Username: "klaxon", Password: "s3cret-pass"}
	cs := cards(t)
	for _, name := range []string{"acknowledged", "resolved"} {
		if _, err := c.Send(context.Background(), target, push(cs[name])); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	noViolations(t, s)
	msgs := s.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, want := range []struct{ title, tag string }{
		{"Acknowledged · SEV1 INC-42 payments: Payments p99 latency above 2s", "eyes"},
		{"Resolved · SEV1 INC-42 payments: Payments p99 latency above 2s", "white_check_mark"},
	} {
		m := msgs[i]
		if m.Title != want.title || m.Priority != 2 || strings.Join(m.Tags, ",") != want.tag {
			t.Errorf("%d: title %q priority %d tags %v", i, m.Title, m.Priority, m.Tags)
		}
		// No Acknowledge button once acknowledged: only the runbook.
		if len(m.Actions) != 1 || m.Actions[0].Label != "Runbook" {
			t.Errorf("%d: actions %+v", i, m.Actions)
		}
	}
	if !strings.Contains(msgs[1].Body, "Resolved by bob") {
		t.Errorf("resolved body:\n%s", msgs[1].Body)
	}
}

func TestPriority(t *testing.T) {
	for _, c := range []struct {
		sev  incidents.Severity
		st   incidents.State
		want int
	}{
		{incidents.Sev1, incidents.Triggered, 5}, {incidents.Sev2, incidents.Triggered, 4},
		{incidents.Sev3, incidents.Triggered, 3}, {incidents.Sev4, incidents.Triggered, 2},
		{incidents.SevUnknown, incidents.Triggered, 3},
		{incidents.Sev1, incidents.Acknowledged, 2}, {incidents.Sev1, incidents.Resolved, 2},
	} {
		if got := ntfy.Priority(c.sev, c.st); got != c.want {
			t.Errorf("Priority(%v, %v) = %d, want %d", c.sev, c.st, got, c.want)
		}
	}
}

func TestSendUnicodeAndQuoting(t *testing.T) {
	s := ntfyfake.New(ntfyfake.Options{})
	defer s.Close()
	card := cards(t)["triggered"]
	card.Title = "Plattenplatz voll auf db-1 — Müller sagt 🔥"
	card.Severity = incidents.Sev3
	p := push(card)
	p.Team = "zahlungen\r\nX-Evil: 1"
	p.AckURL = "https://klaxon.example.com/ack?i=INC-42,t=a;b"
	p.IncidentURL = "https://klaxon.example.com/ui/incidents/INC-42?q=ä"
	if _, err := ntfy.New(ntfy.Options{}).Send(context.Background(), ntfy.Target{URL: s.TopicURL(topic)}, p); err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	m := s.Messages()[0]
	if want := "SEV3 INC-42 zahlungen X-Evil: 1: Plattenplatz voll auf db-1 — Müller sagt 🔥"; m.Title != want {
		t.Errorf("title %q, want %q", m.Title, want)
	}
	if raw := m.Header.Get("X-Title"); !strings.HasPrefix(raw, "=?utf-8?b?") {
		t.Errorf("raw title %q is not RFC 2047", raw)
	}
	if _, ok := m.Header["X-Evil"]; ok {
		t.Error("header injected")
	}
	if m.Priority != 3 || strings.Join(m.Tags, ",") != "warning" {
		t.Errorf("priority %d tags %v", m.Priority, m.Tags)
	}
	if m.Actions[0].URL != p.AckURL {
		t.Errorf("ack URL %q came back as %q", p.AckURL, m.Actions[0].URL)
	}
	if m.Click != "https://klaxon.example.com/ui/incidents/INC-42?q=%C3%A4" {
		t.Errorf("click %q", m.Click)
	}
}

func TestBodyCut(t *testing.T) {
	card, err := templates.MustBuiltin().Card(cardtest.Storm(500), cardtest.Now)
	if err != nil {
		t.Fatal(err)
	}
	card.Summary = strings.Repeat("ünïcödé ", 400)
	m, err := ntfy.Compile(ntfy.Push{Card: card})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Body) > ntfy.MaxBody || !utf8.ValidString(m.Body) || !strings.HasSuffix(m.Body, "…") {
		t.Errorf("body of %d bytes, ends %q", len(m.Body), m.Body[len(m.Body)-10:])
	}
	s := ntfyfake.New(ntfyfake.Options{})
	defer s.Close()
	if _, err := ntfy.New(ntfy.Options{}).Send(context.Background(), ntfy.Target{URL: s.TopicURL(topic)}, ntfy.Push{Card: card}); err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	if got := s.Messages()[0]; got.Click != "" || len(got.Actions) != 1 { // the runbook only
		t.Errorf("click %q actions %+v", got.Click, got.Actions)
	}

	// More alerts than the card shows: "+N more".
	c := cards(t)["triggered"]
	c.MoreAlerts = 7
	m, _ = ntfy.Compile(ntfy.Push{Card: c})
	if !strings.Contains(m.Body, "\n+7 more") {
		t.Errorf("body lacks +7 more:\n%s", m.Body)
	}
}

func TestSendErrors(t *testing.T) {
	s := ntfyfake.New(ntfyfake.Options{Token: token})
	defer s.Close()
	c := ntfy.New(ntfy.Options{HTTPClient: nil})
	ctx := context.Background()
	good := ntfy.Target{URL: s.TopicURL(topic), Token: token}
	p := push(cards(t)["triggered"])

	s.Fail(1, 429, 2*time.Second)
	_, err := c.Send(ctx, good, p)
	if e := wantErr(t, err, incidents.Unavailable, "rate_limited", true); e.RetryAfter() != 2*time.Second || e.Status != 429 || e.NtfyCode != 42901 {
		t.Errorf("%+v", e)
	}
	s.Fail(1, 429, 0)
	_, err = c.Send(ctx, good, p)
	if e := wantErr(t, err, incidents.Unavailable, "rate_limited", true); e.RetryAfter() != 0 {
		t.Errorf("Retry-After %v", e.RetryAfter())
	}
	s.Fail(1, 500, 0)
	_, err = c.Send(ctx, good, p)
	wantErr(t, err, incidents.Unavailable, "http_500", true)
	s.Fail(1, 507, time.Second)
	_, err = c.Send(ctx, good, p)
	wantErr(t, err, incidents.Unavailable, "http_507", true)

	_, err = c.Send(ctx, ntfy.Target{URL: good.URL, Token: "wrong-token-123"}, p)
	if e := wantErr(t, err, incidents.Unauthorized, "unauthorized", false); e.Status != 401 {
		t.Errorf("wrong token: %+v", e)
	}
	_, err = c.Send(ctx, ntfy.Target{URL: good.URL}, p)
	if e := wantErr(t, err, incidents.Unauthorized, "unauthorized", false); e.Status != 403 {
		t.Errorf("no token: %+v", e)
	}

	small := ntfyfake.New(ntfyfake.Options{Limit: 100})
	defer small.Close()
	_, err = c.Send(ctx, ntfy.Target{URL: small.TopicURL(topic)}, p)
	wantErr(t, err, incidents.Invalid, "too_large", false)

	_, err = c.Send(ctx, ntfy.Target{URL: s.URL() + "/"}, p)
	wantErr(t, err, incidents.Invalid, "bad_target", false)
	_, err = c.Send(ctx, good, ntfy.Push{})
	wantErr(t, err, incidents.Invalid, "bad_push", false)
	_, err = c.Send(ctx, good, ntfy.Push{Card: p.Card, AckURL: "javascript:alert(1)"})
	wantErr(t, err, incidents.Invalid, "bad_push", false)

	s.SetDown(true)
	_, err = c.Send(ctx, good, p)
	wantErr(t, err, incidents.Unavailable, "network", true)
	s.SetDown(false)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Send(cctx, good, p)
	wantErr(t, err, incidents.Unavailable, "canceled", true)

	// Injected failures used up: the next push goes through.
	if _, err := c.Send(ctx, good, p); err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages accepted", n)
	}

	s.Close()
	_, err = c.Send(ctx, good, p)
	wantErr(t, err, incidents.Unavailable, "network", true)
}

func TestValidTarget(t *testing.T) {
	for _, ok := range []ntfy.Target{
		{URL: "https://ntfy.example.com/alice-pager"},
		{URL: "https://ntfy.example.com/alice_pager/", Token: token},
		{URL: "https://example.com/ntfy/alice", Username: "u", Password: "p"},
		{URL: "http://127.0.0.1:8080/alice", Token: token},
		{URL: "http://localhost/alice", Username: "u"},
		{URL: "http://ntfy.lan/alice"},
	} {
		if err := ntfy.ValidTarget(ok); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for name, bad := range map[string]ntfy.Target{
		"no topic":        {URL: "https://ntfy.example.com/"},
		"bad topic":       {URL: "https://ntfy.example.com/alice.pager"},
		"long topic":      {URL: "https://ntfy.example.com/" + strings.Repeat("a", 65)},
		"scheme":          {URL: "ntfy://ntfy.example.com/alice"},
		"credentials":     {URL: "https://u:s3cret-pass@ntfy.example.com/alice"},
		"query":           {URL: "https://ntfy.example.com/alice?auth=x"},
		"both":            {URL: "https://ntfy.example.com/alice", Token: token, Username: "u"},
		"password only":   {URL: "https://ntfy.example.com/alice", Password: "s3cret-pass"},
		"token spaces":    {URL: "https://ntfy.example.com/alice", Token: "tk_ a"},
		"clear text":      {URL: "http://ntfy.example.com/alice", Token: token},
		"clear text user": {URL: "http://ntfy.example.com/alice", Username: "u", Password: "s3cret-pass"},
	} {
		err := ntfy.ValidTarget(bad)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "s3cret-pass") || strings.Contains(err.Error(), token) {
			t.Errorf("%s: %q shows a secret", name, err)
		}
	}
}

// FuzzCompile pushes hostile card text: the title stays one line within
// MaxTitle, the body within MaxBody and UTF-8, and the actions parse back
// to the acknowledge link.
func FuzzCompile(f *testing.F) {
	f.Add("Disk full", "payments", "summary\nline", "https://k.example/ack?a=1,2;3")
	f.Add("\r\nX-Evil: 1", "t\x00eam", "\xff\xfe", "https://k.example/a'b")
	f.Add(strings.Repeat("ü", 300), strings.Repeat("t", 300), strings.Repeat("🔥", 2000), "https://k.example/ack")
	base := cards(f)["triggered"]
	f.Fuzz(func(t *testing.T, title, team, summary, ack string) {
		c := *base
		c.Title = templates.Clean(title, templates.MaxTitle, false)
		c.Summary = templates.Clean(summary, templates.MaxSummary, true)
		if _, ok := templates.SafeURL(ack); !ok {
			ack = ""
		}
		m, err := ntfy.Compile(ntfy.Push{Card: &c, Team: team, AckURL: ack})
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(m.Title, "\r\n") || utf8.RuneCountInString(m.Title) > ntfy.MaxTitle || !utf8.ValidString(m.Title) {
			t.Fatalf("title %q", m.Title)
		}
		if len(m.Body) > ntfy.MaxBody || !utf8.ValidString(m.Body) || m.Body == "" {
			t.Fatalf("body of %d bytes", len(m.Body))
		}
		acts, err := ntfyfake.ParseActions(m.Actions)
		if err != nil {
			t.Fatalf("actions %q: %v", m.Actions, err)
		}
		if ack != "" && (acts[0].Label != "Acknowledge" || !strings.HasPrefix(acts[0].URL, "http")) {
			t.Fatalf("actions %q → %+v", m.Actions, acts)
		}
	})
}

// A push that folds in incidents a throttle held back says so first,
// however long the card.
func TestMoreFirst(t *testing.T) {
	card, err := templates.MustBuiltin().Card(cardtest.Storm(500), cardtest.Now)
	if err != nil {
		t.Fatal(err)
	}
	card.Summary = strings.Repeat("long ", 2000)
	more := "klaxon: 2 more incidents for you: INC-43 payments SEV1 Disk full, INC-44 db SEV2 Lag\nforged line"
	m, err := ntfy.Compile(ntfy.Push{Card: card, More: more})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Body, "klaxon: 2 more incidents for you: INC-43 payments SEV1 Disk full, INC-44 db SEV2 Lag forged line\n") || len(m.Body) > ntfy.MaxBody {
		t.Errorf("body starts %q", m.Body[:min(len(m.Body), 120)])
	}
}
