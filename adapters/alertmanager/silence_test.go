package alertmanager_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/incidents"
)

const grafanaToken = "glsa_fakeServiceAccountToken_0123abcd"

// apiFake serves Alertmanager's silence API below prefix, as Grafana's
// built-in Alertmanager does below /api/alertmanager/grafana, and refuses
// what Grafana refuses: another path, a missing or wrong bearer token, a
// body with unknown fields or without isEqual, a bad label name, a filter
// it cannot parse. It answers as Grafana does: 202 for a new silence, a
// {"message"} object for errors.
type apiFake struct {
	t      *testing.T
	prefix string
	token  string
	// dropIsEqual answers like an Alertmanager older than 0.22, which
	// does not know isEqual.
	dropIsEqual bool

	mu       sync.Mutex
	silences map[string]*fakeSilence
	order    []string
	requests []string // "METHOD path?query"
}

type fakeSilence struct {
	ID       string         `json:"id"`
	Status   map[string]any `json:"status"`
	Matchers []fakeMatcher  `json:"matchers"`
	StartsAt time.Time      `json:"startsAt"`
	EndsAt   time.Time      `json:"endsAt"`
	Updated  time.Time      `json:"updatedAt"`
	By       string         `json:"createdBy"`
	Comment  string         `json:"comment"`
	// Grafana adds these; the client must ignore them.
	AccessControl map[string]bool   `json:"accessControl"`
	Metadata      map[string]string `json:"metadata"`
}

type fakeMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"`
}

func newAPIFake(t *testing.T, prefix, token string) (*apiFake, *httptest.Server) {
	f := &apiFake{t: t, prefix: prefix, token: token, silences: map[string]*fakeSilence{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *apiFake) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func grafanaError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg, "traceID": ""})
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func (f *apiFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	rest, ok := strings.CutPrefix(r.URL.Path, f.prefix+"/api/v2/")
	if !ok {
		grafanaError(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		grafanaError(w, http.StatusUnauthorized, "invalid API key")
		return
	}
	now := time.Now()
	switch {
	case rest == "silences" && r.Method == http.MethodPost:
		if r.Header.Get("Content-Type") != "application/json" {
			grafanaError(w, http.StatusUnsupportedMediaType, "want application/json")
			return
		}
		var in struct {
			ID        string        `json:"id"`
			Matchers  []fakeMatcher `json:"matchers"`
			StartsAt  time.Time     `json:"startsAt"`
			EndsAt    time.Time     `json:"endsAt"`
			CreatedBy string        `json:"createdBy"`
			Comment   string        `json:"comment"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			grafanaError(w, http.StatusBadRequest, "bad request data: "+err.Error())
			return
		}
		if in.ID != "" || len(in.Matchers) == 0 || in.StartsAt.IsZero() || !in.EndsAt.After(in.StartsAt) || !in.EndsAt.After(now) {
			grafanaError(w, http.StatusBadRequest, "silence failed validation")
			return
		}
		for _, m := range in.Matchers {
			if !labelName.MatchString(m.Name) || m.IsEqual == nil {
				grafanaError(w, http.StatusBadRequest, fmt.Sprintf("silence failed validation: bad matcher %+v", m))
				return
			}
		}
		if f.dropIsEqual {
			for i := range in.Matchers {
				in.Matchers[i].IsEqual = nil
			}
		}
		id := newUUID()
		f.silences[id] = &fakeSilence{ID: id, Matchers: in.Matchers, StartsAt: in.StartsAt, EndsAt: in.EndsAt,
			Updated: now, By: in.CreatedBy, Comment: in.Comment,
			AccessControl: map[string]bool{"read": true}, Metadata: map[string]string{"rule_title": "x"}}
		f.order = append(f.order, id)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{"silenceID": id})
	case rest == "silences" && r.Method == http.MethodGet:
		var filter []fakeMatcher
		for _, s := range r.URL.Query()["filter"] {
			m, err := parseFilter(s)
			if err != nil {
				grafanaError(w, http.StatusBadRequest, err.Error())
				return
			}
			filter = append(filter, m)
		}
		out := []*fakeSilence{}
		for _, id := range f.order {
			s := f.silences[id]
			if carriesAll(s, filter) {
				out = append(out, f.withState(s, now))
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	case strings.HasPrefix(rest, "silence/") && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
		s := f.silences[strings.TrimPrefix(rest, "silence/")]
		if s == nil {
			grafanaError(w, http.StatusNotFound, "silence not found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			json.NewEncoder(w).Encode(f.withState(s, now))
			return
		}
		if s.EndsAt.After(now) {
			s.EndsAt, s.Updated = now, now
			if s.StartsAt.After(now) {
				s.StartsAt = now
			}
		}
		json.NewEncoder(w).Encode(map[string]string{"message": "silence deleted"})
	default:
		grafanaError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (f *apiFake) withState(s *fakeSilence, now time.Time) *fakeSilence {
	c := *s
	state := "active"
	switch {
	case !s.EndsAt.After(now):
		state = "expired"
	case s.StartsAt.After(now):
		state = "pending"
	}
	c.Status = map[string]any{"state": state}
	return &c
}

// parseFilter reads name="value" (or !=, =~, !~) as Alertmanager's
// ParseMatcher does: the value quoted, with \\, \" and \n escapes only.
func parseFilter(s string) (fakeMatcher, error) {
	i := strings.IndexAny(s, "=!")
	if i <= 0 || !labelName.MatchString(s[:i]) {
		return fakeMatcher{}, fmt.Errorf("bad matcher format: %s", s)
	}
	m := fakeMatcher{Name: s[:i]}
	eq := true
	rest := s[i:]
	for _, op := range []string{"!~", "=~", "!=", "="} {
		if v, ok := strings.CutPrefix(rest, op); ok {
			m.IsRegex, eq, rest = strings.HasSuffix(op, "~"), op[0] == '=', v
			break
		}
	}
	m.IsEqual = &eq
	if len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' {
		return fakeMatcher{}, fmt.Errorf("matcher value not quoted: %s", s)
	}
	var b strings.Builder
	in := rest[1 : len(rest)-1]
	for j := 0; j < len(in); j++ {
		switch c := in[j]; {
		case c == '\\' && j+1 < len(in):
			j++
			switch in[j] {
			case 'n':
				b.WriteByte('\n')
			case '"', '\\':
				b.WriteByte(in[j])
			default:
				return fakeMatcher{}, fmt.Errorf("unknown escape in %s", s)
			}
		case c == '"' || c == '\\':
			return fakeMatcher{}, fmt.Errorf("matcher value contains unescaped double quote: %s", s)
		default:
			b.WriteByte(c)
		}
	}
	m.Value = b.String()
	if !utf8.ValidString(m.Value) {
		return fakeMatcher{}, fmt.Errorf("matcher value not valid UTF-8: %s", s)
	}
	return m, nil
}

// carriesAll: the silence has each filter matcher with the same name,
// type and value (Alertmanager's CheckSilenceMatchesFilterLabels).
func carriesAll(s *fakeSilence, filter []fakeMatcher) bool {
	for _, want := range filter {
		if !slices.ContainsFunc(s.Matchers, func(m fakeMatcher) bool {
			eq := m.IsEqual == nil || *m.IsEqual
			return m.Name == want.Name && m.Value == want.Value && m.IsRegex == want.IsRegex && eq == *want.IsEqual
		}) {
			return false
		}
	}
	return true
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// TestGrafanaSilences drives the client against Grafana's path and token.
func TestGrafanaSilences(t *testing.T) {
	ctx := t.Context()
	fake, srv := newAPIFake(t, alertmanager.GrafanaPath, grafanaToken)
	c, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{
		URL: alertmanager.GrafanaAlertmanagerURL(srv.URL + "/"), Token: grafanaToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.URL() != srv.URL+"/api/alertmanager/grafana" {
		t.Fatalf("URL() = %s", c.URL())
	}
	alerts := []map[string]string{
		{"alertname": "HighLatency", "grafana_folder": "Payments", "service": "pay", "pod": "pay-1", "note": weirdValue},
		{"alertname": "HighLatency", "grafana_folder": "Payments", "service": "pay", "pod": "pay-2", "note": weirdValue},
	}
	ms, err := alertmanager.MatchersFor(alerts, map[string]string{"region": "eu-1"})
	if err != nil {
		t.Fatal(err)
	}
	wantMs := []alertmanager.Matcher{
		{Name: "alertname", Value: "HighLatency"}, {Name: "grafana_folder", Value: "Payments"},
		{Name: "note", Value: weirdValue}, {Name: "region", Value: "eu-1"}, {Name: "service", Value: "pay"},
	}
	if !slices.Equal(ms, wantMs) {
		t.Fatalf("MatchersFor = %v\nwant %v", ms, wantMs)
	}
	id, err := c.Create(ctx, alertmanager.Silence{Matchers: ms, EndsAt: time.Now().Add(4 * time.Hour), CreatedBy: "carol (klaxon)", Comment: "INC-9"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Get(ctx, id)
	if err != nil || s.State != alertmanager.SilenceActive || !slices.Equal(s.Matchers, ms) {
		t.Fatalf("Get = %+v, %v", s, err)
	}
	for _, a := range alerts {
		if s.Covers(a) {
			t.Errorf("the silence covers %v, which has no region", a)
		}
		a["region"] = "eu-1"
		if !s.Covers(a) {
			t.Errorf("the silence does not cover %v", a)
		}
	}
	for _, m := range ms {
		if l, err := c.List(ctx, m); err != nil || len(l) != 1 || l[0].ID != id {
			t.Fatalf("List(%v) = %+v, %v", m, l, err)
		}
	}
	if l, err := c.List(ctx, alertmanager.Matcher{Name: "note", Value: weirdValue + " "}); err != nil || len(l) != 0 {
		t.Fatalf("List(another note) = %+v, %v; want nothing", l, err)
	}
	if was, err := c.Expire(ctx, id); err != nil || was.State != alertmanager.SilenceActive {
		t.Fatalf("Expire = %+v, %v", was, err)
	}
	if was, err := c.Expire(ctx, id); err != nil || was.State != alertmanager.SilenceExpired {
		t.Fatalf("Expire again = %+v, %v; want already expired, no error", was, err)
	}
	if l, err := c.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("List after Expire = %+v, %v", l, err)
	}
	if l, err := c.ListAll(ctx); err != nil || len(l) != 1 || l[0].State != alertmanager.SilenceExpired {
		t.Fatalf("ListAll after Expire = %+v, %v", l, err)
	}
	_, err = c.Get(ctx, "00000000-0000-4000-8000-000000000000")
	if incidents.ErrorKind(err) != incidents.NotFound || !strings.HasPrefix(incidents.ErrorMessage(err), "Grafana's Alertmanager at "+c.URL()+" has no silence") {
		t.Errorf("Get(unknown) = %v", err)
	}
	deletes := 0
	for _, r := range fake.seen() {
		if !strings.Contains(r, " /api/alertmanager/grafana/api/v2/silence") {
			t.Errorf("request outside Grafana's API: %s", r)
		}
		if strings.HasPrefix(r, "DELETE ") {
			deletes++
		}
	}
	if deletes != 1 {
		t.Errorf("%d DELETEs, want 1 (the second Expire found it expired): %v", deletes, fake.seen())
	}

	// A wrong token, and Grafana's URL without the Alertmanager path.
	bad, _ := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: alertmanager.GrafanaAlertmanagerURL(srv.URL), Token: "glsa_wrong_token_77"})
	_, err = bad.List(ctx)
	if incidents.ErrorKind(err) != incidents.Unauthorized || !strings.Contains(incidents.ErrorMessage(err), "401 Unauthorized: invalid API key") {
		t.Errorf("wrong token: %v", err)
	}
	noSecrets(t, err, "glsa_wrong_token_77", grafanaToken)
	root, _ := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: srv.URL, Token: grafanaToken})
	_, err = root.List(ctx)
	if incidents.ErrorKind(err) != incidents.NotFound || !strings.Contains(incidents.ErrorMessage(err), "/api/alertmanager/grafana") {
		t.Errorf("Grafana's root URL: %v", err)
	}
	noSecrets(t, err, grafanaToken)
}

// TestCreateNegativeOnOldAlertmanager: an Alertmanager that drops isEqual
// would mute the opposite alerts, so Create expires the silence again.
func TestCreateNegativeOnOldAlertmanager(t *testing.T) {
	ctx := t.Context()
	fake, srv := newAPIFake(t, "", "tok")
	fake.dropIsEqual = true
	c, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: srv.URL, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	s := alertmanager.Silence{
		Matchers:  []alertmanager.Matcher{{Name: "alertname", Value: "X"}, {Name: "env", Value: "prod", Type: alertmanager.MatchNotEqual}},
		EndsAt:    time.Now().Add(time.Hour),
		CreatedBy: "a", Comment: "c",
	}
	_, err = c.Create(ctx, s)
	if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(incidents.ErrorMessage(err), "0.22") ||
		!strings.Contains(incidents.ErrorMessage(err), "expired again") {
		t.Fatalf("Create with != on an old Alertmanager: %v", err)
	}
	if l, err := c.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("the inverted silence is still active: %+v, %v", l, err)
	}

	// Where isEqual is kept, the same silence is created and stays.
	fake.dropIsEqual = false
	id, err := c.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, id)
	if err != nil || !slices.Equal(got.Matchers, s.Matchers) || got.State != alertmanager.SilenceActive {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if !got.Covers(map[string]string{"alertname": "X", "env": "dev"}) || got.Covers(map[string]string{"alertname": "X", "env": "prod"}) {
		t.Errorf("Covers ignores the != matcher")
	}
}

// TestCreateChecksFirst: a silence that cannot be right never leaves klaxon.
func TestCreateChecksFirst(t *testing.T) {
	ctx := t.Context()
	fake, srv := newAPIFake(t, "", "tok")
	now := time.Now().Truncate(time.Second)
	c, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: srv.URL, Token: "tok", Clock: fixedClock(now)})
	if err != nil {
		t.Fatal(err)
	}
	ok := alertmanager.Silence{
		Matchers: []alertmanager.Matcher{{Name: "alertname", Value: "X"}},
		EndsAt:   now.Add(time.Hour), CreatedBy: "a", Comment: "c",
	}
	for name, edit := range map[string]func(*alertmanager.Silence){
		"no matchers": func(s *alertmanager.Silence) { s.Matchers = nil },
		"bad name":    func(s *alertmanager.Silence) { s.Matchers[0].Name = "alert-name" },
		"bad utf8":    func(s *alertmanager.Silence) { s.Matchers[0].Value = "\xff" },
		"bad regex": func(s *alertmanager.Silence) {
			s.Matchers[0] = alertmanager.Matcher{Name: "a", Value: "(", Type: alertmanager.MatchRegexp}
		},
		"matches empty": func(s *alertmanager.Silence) {
			s.Matchers[0] = alertmanager.Matcher{Name: "a", Value: ".*", Type: alertmanager.MatchRegexp}
		},
		"only negative":     func(s *alertmanager.Silence) { s.Matchers[0].Type = alertmanager.MatchNotEqual },
		"unknown type":      func(s *alertmanager.Silence) { s.Matchers[0].Type = 9 },
		"no author":         func(s *alertmanager.Silence) { s.CreatedBy = " " },
		"no comment":        func(s *alertmanager.Silence) { s.Comment = "" },
		"ends before start": func(s *alertmanager.Silence) { s.StartsAt = now.Add(2 * time.Hour) },
		"ends in the past":  func(s *alertmanager.Silence) { s.StartsAt, s.EndsAt = now.Add(-2*time.Hour), now.Add(-time.Hour) },
		"has an ID":         func(s *alertmanager.Silence) { s.ID = "00000000-0000-4000-8000-000000000000" },
	} {
		s := ok
		s.Matchers = slices.Clone(ok.Matchers)
		edit(&s)
		_, err := c.Create(ctx, s)
		if incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("%s: %v, want Invalid", name, err)
			continue
		}
		t.Logf("%s: %s", name, incidents.ErrorMessage(err))
	}
	if r := fake.seen(); len(r) != 0 {
		t.Errorf("requests sent for invalid silences: %v", r)
	}
	if _, err := c.Create(ctx, ok); err != nil {
		t.Fatalf("the valid silence: %v", err)
	}
	for _, id := range []string{"", "a b", "x\n", strings.Repeat("a", 101)} {
		if _, err := c.Get(ctx, id); incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("Get(%q) = %v, want Invalid", id, err)
		}
	}
	if _, err := c.List(ctx, alertmanager.Matcher{Name: "0bad", Value: "x"}); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("List with a bad filter: %v", err)
	}
}

func TestNewSilenceClient(t *testing.T) {
	for url, want := range map[string]string{
		"http://am:9093":                          "http://am:9093",
		"http://am:9093/":                         "http://am:9093",
		" https://example.com/alertmanager/ ":     "https://example.com/alertmanager",
		"https://example.com/alertmanager/api/v2": "https://example.com/alertmanager",
		"http://user:pw@am:9093/":                 "http://am:9093",
	} {
		c, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: url})
		if err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		if c.URL() != want {
			t.Errorf("URL() for %s = %s, want %s", url, c.URL(), want)
		}
	}
	if got := alertmanager.GrafanaAlertmanagerURL("https://grafana.example.com/"); got != "https://grafana.example.com/api/alertmanager/grafana" {
		t.Errorf("GrafanaAlertmanagerURL = %s", got)
	}

	const secret = "s3cret-Value"
	for name, o := range map[string]alertmanager.SilenceOptions{
		"empty":             {},
		"no scheme":         {URL: "alertmanager:9093"},
		"ftp":               {URL: "ftp://am:9093"},
		"no host":           {URL: "http://"},
		"query":             {URL: "http://am:9093/?x=1"},
		"fragment":          {URL: "http://am:9093/#/silences"},
		"token and basic":   {URL: "http://am", Token: secret, Username: "u", Password: secret},
		"url and options":   {URL: "http://u:" + secret + "@am", Token: secret},
		"url bad and creds": {URL: "http://u:" + secret + "@am:port", Token: secret},
		"password only":     {URL: "http://am", Password: secret},
		"username only":     {URL: "http://am", Username: "u"},
		"token spaces":      {URL: "http://am", Token: secret + " x"},
		"colon in username": {URL: "http://am", Username: "a:b", Password: secret},
		"negative timeout":  {URL: "http://am", Timeout: -time.Second},
	} {
		_, err := alertmanager.NewSilenceClient(o)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q shows the secret", name, err)
		}
	}
}
