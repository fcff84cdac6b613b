package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// fakeSilencer is a Silencer in memory: it builds matchers as the
// Alertmanager adapter does (the labels every alert shares, plus extra),
// and fails as told.
type fakeSilencer struct {
	mu       sync.Mutex
	seq      int
	silences map[string]*bot.SilenceInfo
	expired  map[string]bool
	made     []bot.SilenceRequest
	fail     error // every call fails with it while set
	clock    interface{ Now() time.Time }
}

func newFakeSilencer(clock interface{ Now() time.Time }) *fakeSilencer {
	return &fakeSilencer{silences: map[string]*bot.SilenceInfo{}, expired: map[string]bool{}, clock: clock}
}

func (f *fakeSilencer) Silence(ctx context.Context, r bot.SilenceRequest) (bot.SilenceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return bot.SilenceInfo{}, f.fail
	}
	shared := maps.Clone(r.Alerts[0])
	for _, a := range r.Alerts[1:] {
		for k, v := range shared {
			if a[k] != v {
				delete(shared, k)
			}
		}
	}
	maps.Copy(shared, r.Extra)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(shared)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, shared[k]))
	}
	f.seq++
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", f.seq, f.seq)
	info := bot.SilenceInfo{ID: id, Matchers: "{" + strings.Join(parts, ", ") + "}", StartsAt: f.clock.Now(), EndsAt: r.Ends,
		CreatedBy: r.CreatedBy, Comment: r.Comment}
	f.silences[id] = &info
	f.made = append(f.made, r)
	return info, nil
}

func (f *fakeSilencer) Expire(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.silences[id] == nil {
		return incidents.Errorf(incidents.NotFound, "no silence %s", id)
	}
	f.expired[id] = true
	return nil
}

func (f *fakeSilencer) Silences(ctx context.Context) ([]bot.SilenceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []bot.SilenceInfo
	for id, s := range f.silences {
		if !f.expired[id] && s.EndsAt.After(f.clock.Now()) {
			out = append(out, *s)
		}
	}
	return out, nil
}

func (f *fakeSilencer) active() []bot.SilenceInfo {
	l, _ := f.Silences(context.Background())
	return l
}

func (f *fakeSilencer) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

// newSilenceEnv is newChatEnv with a fake silencer for Alertmanager's
// incidents, responders alice and bob, and a public URL.
func newSilenceEnv(t *testing.T, store incidents.Store) (*chatEnv, *fakeSilencer) {
	cfg := bot.DefaultConfig()
	chatConfig(cfg)
	withPeople(cfg)
	cfg.Teams[0].Responders = []string{"alice", "bob"}
	cfg.Server.PublicURL = "https://klaxon.example.com"
	cfg.APITokens = []bot.APITokenConfig{{Name: "ci", Token: apiToken, As: "alice", Scope: "write"}}
	e := &chatEnv{cfg: cfg, slack: newFakeChat(), tg: newFakeChat()}
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	sil := newFakeSilencer(clock)
	srv, err := bot.New(cfg, bot.Deps{
		Store: store, Clock: clock, Logger: discardLogger(), Version: "test",
		Chats:     map[string]bot.Chat{bot.Slack: e.slack, bot.Telegram: e.tg},
		Silencers: map[string]bot.Silencer{"alertmanager": sil},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.env = &env{t: t, h: srv.Handler(), clock: clock, store: store}
	return e, sil
}

const apiToken = "silence-test-token-4f9a1c2e7b"

func (e *chatEnv) press(user string, id string, a templates.Action) chatops.Reply {
	e.t.Helper()
	key := bot.NewButtonSigner(e.cfg.ButtonKeySecret()).Sign(bot.Slack, id, a)
	if key == "" {
		e.t.Fatalf("no key for %v", a)
	}
	return e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: user, Channel: slackC, Button: key})
}

func TestSilenceFromButtons(t *testing.T) {
	e, sil := newSilenceEnv(t, boltStore(t))
	inc := e.open("g1")
	card, err := templates.MustBuiltin().WithSilences("alertmanager").Card(inc, e.clock.Now())
	if err != nil || !slices.Contains(card.Actions, templates.Action{ID: templates.ActSilence, Label: "Silence 4h", Arg: "4h"}) {
		t.Fatalf("card actions %+v, %v; want Silence 4h", card.Actions, err)
	}
	// Someone not among the responders may not.
	wantReply(t, e.press("UZED", inc.ID, templates.Action{ID: templates.ActSilence, Arg: "4h"}), "only the payments team's responders")
	if len(sil.active()) != 0 {
		t.Fatal("zed made a silence")
	}

	r := e.press("UALICE", inc.ID, templates.Action{ID: templates.ActSilence, Arg: "4h"})
	wantReply(t, r, inc.ID+": Silenced for 4h by alice (silence 00000001…): {alertname=\"HighLatency-g1-a\"")
	active := sil.active()
	if len(active) != 1 || !active[0].EndsAt.Equal(e.clock.Now().Add(4*time.Hour)) || active[0].CreatedBy != "alice" ||
		!strings.HasPrefix(active[0].Comment, inc.ID+": Latency on g1 (silenced from klaxon by alice) https://klaxon.example.com/ui/incidents/"+inc.ID) ||
		!strings.HasSuffix(active[0].Comment, "[klaxon "+inc.ID+" team=payments]") {
		t.Fatalf("silences %+v", active)
	}
	got := e.get(inc.ID)
	if len(got.Silences) != 1 || got.Silences[0].ID != active[0].ID || got.Silences[0].By != "alice" {
		t.Fatalf("incident silences %+v", got.Silences)
	}
	if r.Card == nil || r.Card.Owner != "Silenced for 4h by alice (silence 00000001…)" || r.Card.Actions[len(r.Card.Actions)-1].ID != templates.ActUnsilence {
		t.Fatalf("card %+v", r.Card)
	}

	// /incident silences lists it; Unsilence expires it.
	wantReply(t, e.say("UBOB", "silences"), "1 silences of klaxon's for the team payments:\n00000001… · "+inc.ID+" · until Mar 1 16:00 UTC (4h left) · by alice")
	wantReply(t, e.press("UBOB", inc.ID, templates.Action{ID: templates.ActUnsilence}), inc.ID+": Silence 00000001… expired by bob: its alerts notify again.")
	if len(sil.active()) != 0 || len(e.get(inc.ID).Silences) != 0 {
		t.Fatalf("after unsilence: %+v, %+v", sil.active(), e.get(inc.ID).Silences)
	}
	wantReply(t, e.press("UBOB", inc.ID, templates.Action{ID: templates.ActUnsilence}), inc.ID+" is not silenced by klaxon")
	wantReply(t, e.say("UBOB", "silences"), "No silences of klaxon's are active for the team payments.")
}

func TestSilenceCommand(t *testing.T) {
	e, sil := newSilenceEnv(t, boltStore(t))
	inc := e.open("g1")
	// Without a duration: how long? A button each for 1h, 4h and 24h.
	r := e.say("UALICE", "silence")
	wantReply(t, r, "Silence "+inc.ID+"'s alerts at alertmanager for how long?")
	if len(r.Choices) != 3 || r.Choices[1].Label != "Silence 4h" || len(sil.active()) != 0 {
		t.Fatalf("choices %+v, silences %+v", r.Choices, sil.active())
	}
	r = e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: "UALICE", Channel: slackC, Button: r.Choices[0].Key})
	wantReply(t, r, "Silenced for 1h by alice")
	wantReply(t, e.say("UALICE", "unsilence"), "expired by alice")
	sil.seq, sil.silences, sil.expired, sil.made = 0, map[string]*bot.SilenceInfo{}, map[string]bool{}, nil
	wantReply(t, e.say("UBOB", "silence 90m instance=db-1"), "Silenced for 1h30m by bob")
	if len(sil.made) != 1 || sil.made[0].Extra["instance"] != "db-1" || !strings.Contains(sil.active()[0].Matchers, `instance="db-1"`) {
		t.Fatalf("made %+v", sil.made)
	}
	wantReply(t, e.say("UALICE", "silence "+inc.ID+" 1h"), "Silenced for 1h by alice (silence 00000002…)")
	// Two silences: the card names the one that lasts longest.
	got := e.get(inc.ID)
	if c, _ := templates.MustBuiltin().Card(got, e.clock.Now()); c.Owner != "Silenced for 1h 30m by bob (silence 00000001…) +1 more" {
		t.Fatalf("owner %q", c.Owner)
	}
	wantReply(t, e.say("UALICE", "unsilence "+inc.ID+" 00000001"), "Silence 00000001… expired by alice")
	wantReply(t, e.say("UALICE", "unsilence "+inc.ID+" ffff"), inc.ID+" has no silence ffff of klaxon's")
	wantReply(t, e.say("UALICE", "unsilence"), "Silence 00000002… expired by alice")

	// An incident from a source klaxon cannot silence at.
	b := &incidents.Batch{Source: "webhook/uptime", GroupKey: "u1", Title: "Site down", Team: "payments",
		Alerts: []incidents.Alert{{Source: "webhook/uptime", Fingerprint: "u1", Status: incidents.AlertFiring, Labels: map[string]string{"alertname": "Down"}}}}
	res, err := e.store.Ingest(context.Background(), b, incidents.IngestOptions{Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	wantReply(t, e.say("UALICE", "silence "+res.Incident.ID+" 1h"), res.Incident.ID+" came from webhook/uptime: klaxon silences alerts only at alertmanager")
}

// A source that is down or refuses answers the person in its own words,
// and nothing changes.
func TestSilenceSourceFailures(t *testing.T) {
	e, sil := newSilenceEnv(t, boltStore(t))
	inc := e.open("g1")
	before := e.get(inc.ID)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&incidents.Error{Kind: incidents.Unavailable, Message: "Alertmanager at http://am:9093 is unreachable (connection refused): nothing changed"},
			"Alertmanager at http://am:9093 is unreachable (connection refused): nothing changed"},
		{&incidents.Error{Kind: incidents.Invalid, Message: "the alerts share only severity=\"page\": a silence on that alone would hide every alert"},
			"the alerts share only severity"},
		{&incidents.Error{Kind: incidents.Unauthorized, Message: "Alertmanager at http://am:9093 refused klaxon's credentials (401 Unauthorized)"},
			"refused klaxon's credentials"},
	} {
		sil.setFail(tc.err)
		wantReply(t, e.say("UALICE", "silence 1h"), tc.want)
		wantReply(t, e.press("UALICE", inc.ID, templates.Action{ID: templates.ActSilence, Arg: "4h"}), tc.want)
		wantReply(t, e.say("UALICE", "silences"), tc.want)
	}
	if after := e.get(inc.ID); after.Version != before.Version || len(after.Silences) != 0 {
		t.Fatalf("a failed silence changed the incident: v%d → v%d, %+v", before.Version, after.Version, after.Silences)
	}
	// The API says the same, with a status that says to retry.
	sil.setFail(&incidents.Error{Kind: incidents.Unavailable, Message: "Alertmanager at http://am:9093 failed (500 Internal Server Error): nothing changed, try again"})
	resp := e.do("POST", "/api/v1/incidents/"+inc.ID+"/silence", `{"duration": "4h"}`, "Authorization", "Bearer "+apiToken)
	if resp.code != 503 || !strings.Contains(resp.body, "failed (500 Internal Server Error)") {
		t.Fatalf("API with Alertmanager failing: %d %s", resp.code, resp.body)
	}
	sil.setFail(nil)
	resp = e.do("POST", "/api/v1/incidents/"+inc.ID+"/silence", `{"duration": "4h", "labels": {"instance": "db-1"}}`, "Authorization", "Bearer "+apiToken)
	var out struct {
		Message string `json:"message"`
	}
	if resp.code != 200 || json.Unmarshal([]byte(resp.body), &out) != nil || !strings.HasPrefix(out.Message, inc.ID+": Silenced for 4h by ") {
		t.Fatalf("API silence: %d %s", resp.code, resp.body)
	}
	resp = e.do("GET", "/api/v1/silences?team=payments", "", "Authorization", "Bearer "+apiToken)
	var list struct {
		Silences []struct{ ID, Incident, Team, Matchers, CreatedBy string }
	}
	if resp.code != 200 || json.Unmarshal([]byte(resp.body), &list) != nil || len(list.Silences) != 1 || list.Silences[0].Incident != inc.ID ||
		list.Silences[0].Team != "payments" || list.Silences[0].CreatedBy != "alice (api)" || !strings.Contains(list.Silences[0].Matchers, `instance="db-1"`) {
		t.Fatalf("GET /api/v1/silences: %d %s", resp.code, resp.body)
	}
	if resp = e.do("GET", "/api/v1/silences?team=paymnts", "", "Authorization", "Bearer "+apiToken); resp.code != 404 || !strings.Contains(resp.body, `did you mean`) {
		t.Fatalf("GET /api/v1/silences?team=paymnts: %d %s", resp.code, resp.body)
	}
	resp = e.do("POST", "/api/v1/incidents/"+inc.ID+"/unsilence", `{}`, "Authorization", "Bearer "+apiToken)
	if resp.code != 200 || len(sil.active()) != 0 {
		t.Fatalf("API unsilence: %d %s; active %+v", resp.code, resp.body, sil.active())
	}
	resp = e.do("POST", "/api/v1/incidents/"+inc.ID+"/silence", `{"duration": "forever"}`, "Authorization", "Bearer "+apiToken)
	if resp.code != 400 || !strings.Contains(resp.body, `silence takes {\"duration\": \"4h\"}`) {
		t.Fatalf("API silence forever: %d %s", resp.code, resp.body)
	}
}

// updateFails is a store whose Update fails while fail is set.
type updateFails struct {
	incidents.Store
	fail bool
}

func (s *updateFails) Update(ctx context.Context, id string, fn func(*incidents.Incident) error) (*incidents.Incident, error) {
	if s.fail {
		return nil, incidents.Errorf(incidents.Unavailable, "the store is down")
	}
	return s.Store.Update(ctx, id, fn)
}

// A silence made at the source that the incident cannot record is
// expired again: nothing stays muted that no card shows.
func TestSilenceNotRecordedIsExpired(t *testing.T) {
	base := boltStore(t)
	store := &updateFails{Store: base}
	cfg := bot.DefaultConfig()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	sil := newFakeSilencer(clock)
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(), Version: "test",
		Silencers: map[string]bot.Silencer{"alertmanager": sil}})
	if err != nil {
		t.Fatal(err)
	}
	e := &chatEnv{env: &env{t: t, clock: clock, store: base}}
	inc := e.open("g1")
	store.fail = true
	_, _, err = srv.Act(context.Background(), inc.ID, bot.Command{Verb: bot.VerbSilence, Duration: time.Hour}, bot.Actor{Name: "alice", Known: true, Via: bot.Slack})
	if incidents.ErrorKind(err) != incidents.Unavailable {
		t.Fatalf("Act with the store down: %v, want Unavailable", err)
	}
	if len(sil.made) != 1 || len(sil.active()) != 0 {
		t.Fatalf("made %d silences, %d still active; want 1 made and expired again", len(sil.made), len(sil.active()))
	}
	store.fail = false
	if got := e.get(inc.ID); len(got.Silences) != 0 {
		t.Fatalf("recorded %+v", got.Silences)
	}
	// A wrong api_url (404) is klaxon's problem, not the incident's: 503.
	sil.setFail(&incidents.Error{Kind: incidents.NotFound, Message: "Alertmanager at http://am:9093/x answered 404 Not Found: is http://am:9093/x its base URL?"})
	_, _, err = srv.Act(context.Background(), inc.ID, bot.Command{Verb: bot.VerbSilence, Duration: time.Hour}, bot.Actor{Name: "alice", Known: true, Via: bot.Slack})
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(incidents.ErrorMessage(err), "is http://am:9093/x its base URL?") {
		t.Fatalf("with a wrong api_url: %v", err)
	}
}
