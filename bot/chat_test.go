package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
	"github.com/klaxonbot/klaxon/templates"
)

func withPeople(c *bot.Config) {
	c.People = []bot.PersonConfig{
		{Name: "alice", Slack: "UALICE", Telegram: "111"},
		{Name: "bob", Slack: "UBOB", Mattermost: "bobmmid"},
	}
}

func (e *chatEnv) say(user, text string) chatops.Reply {
	e.t.Helper()
	return e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: user, UserName: strings.ToLower(user), Channel: slackC, Text: text})
}

func (e *chatEnv) get(id string) *incidents.Incident {
	e.t.Helper()
	inc, err := e.store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func wantReply(t *testing.T, r chatops.Reply, want string) {
	t.Helper()
	if !strings.Contains(r.Text, want) {
		t.Fatalf("reply %q, want it to say %q", r.Text, want)
	}
}

// A whole incident run from chat, as the on-call person and the commander
// would.
func TestChatRunsAnIncident(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), withPeople)
		inc := e.open("g1")
		wantReply(t, e.say("UALICE", "ack"), inc.ID+": Acknowledged by alice.")
		wantReply(t, e.say("UALICE", "ack"), inc.ID+" is already acknowledged (by alice at")
		wantReply(t, e.say("UBOB", "sev 1"), "Severity SEV2 → SEV1 (set by bob)")
		wantReply(t, e.say("UBOB", "lead @alice"), "alice is incident commander (named by bob)")
		wantReply(t, e.say("UALICE", "role scribe <@UBOB|bob>"), "bob is scribe (named by alice)")
		wantReply(t, e.say("UBOB", "note factor: the pool was too small"), "Note (factor) added to "+inc.ID)
		r := e.say("UZED", "note it was human error, zed was careless")
		wantReply(t, r, "blameless notes help us learn")
		wantReply(t, e.say("UALICE", "snooze 30m"), "Escalation snoozed for 30m")
		wantReply(t, e.say("UALICE", "show"), "Incident commander: alice")
		wantReply(t, e.say("UALICE", "timeline"), "[factor] the pool was too small")
		wantReply(t, e.say("UALICE", "resolve pool raised to 300"), "Resolved by alice: pool raised to 300")
		wantReply(t, e.say("UBOB", "resolve "+inc.ID), inc.ID+" is already resolved (by alice at")
		wantReply(t, e.say("UBOB", "resolve"), "No incident is open here")
		got := e.get(inc.ID)
		if got.State != incidents.Resolved || got.Severity != incidents.Sev1 || got.Lead != "alice" || got.Roles["scribe"] != "bob" || got.Summary != "pool raised to 300" {
			t.Fatalf("incident after the run: %+v", got)
		}
		var note incidents.Event
		for _, ev := range got.Timeline {
			if ev.Kind == incidents.EventNote && ev.Actor == "uzed (Slack)" {
				note = ev
			}
		}
		if note.Text != "it was human error, zed was careless" {
			t.Errorf("the blaming note was not kept as written: %+v", note)
		}
		pm := e.say("UALICE", "postmortem") // the next day, in the channel: the latest incident
		if pm.Document == nil || !strings.Contains(pm.Document.Content, "## Contributing factors\n\n- the pool was too small") ||
			!strings.Contains(pm.Document.Content, "pool raised to 300") || pm.Document.Name != inc.ID+"-postmortem.md" {
			t.Fatalf("postmortem reply %+v", pm)
		}
		r2 := e.do("GET", "/api/v1/incidents/"+inc.ID+"/postmortem.md", "")
		if r2.code != 200 || r2.header.Get("Content-Type") != "text/markdown; charset=utf-8" || r2.body != pm.Document.Content ||
			r2.header.Get("X-Klaxon-Postmortem-Version") != "0" {
			t.Fatalf("GET postmortem.md: %d %s", r2.code, r2.header)
		}
		// Once the team saves its own text (in the console), chat and the
		// API hand out that, not the draft; ?draft=1 still makes the draft.
		saved := "# INC: the pool\n\nThe pool was sized for last year's traffic.\n"
		if _, err := e.store.(incidents.Postmortems).SavePostmortem(context.Background(), inc.ID, 0, saved, "alice", time.Now()); err != nil {
			t.Fatal(err)
		}
		pm = e.say("UALICE", "postmortem "+inc.ID)
		if pm.Document == nil || pm.Document.Content != saved || !strings.Contains(pm.Text, "version 1 saved by alice") {
			t.Fatalf("postmortem reply after a save: %+v", pm)
		}
		if r3 := e.do("GET", "/api/v1/incidents/"+inc.ID+"/postmortem.md", ""); r3.code != 200 || r3.body != saved || r3.header.Get("X-Klaxon-Postmortem-Version") != "1" {
			t.Fatalf("GET postmortem.md after a save: %d %s %q", r3.code, r3.header, r3.body)
		}
		if r4 := e.do("GET", "/api/v1/incidents/"+inc.ID+"/postmortem.md?draft=1", ""); r4.code != 200 || r4.body != r2.body {
			t.Fatalf("GET postmortem.md?draft=1: %d %q", r4.code, r4.body)
		}
	})
}

func TestChatUsageAndErrors(t *testing.T) {
	e := newChatEnv(t, boltStore(t), nil)
	wantReply(t, e.say("U1", "bogus"), `unknown command "bogus"; try: /incident help`)
	wantReply(t, e.say("U1", ""), "/incident <verb>")
	wantReply(t, e.say("U1", "ack"), "No incident is open here")
	wantReply(t, e.say("U1", "ack INC-999"), "INC-999 not found")
	a, b := e.open("g1"), e.open("g2")
	wantReply(t, e.say("U1", "ack"), "2 incidents are open here ("+b.ID+", "+a.ID+"): which one?")
	wantReply(t, e.say("U1", "list"), "2 open:")
	wantReply(t, e.say("U1", "ack "+a.ID), a.ID+": Acknowledged by u1 (Slack)")
	// Notes that merely contain a blame phrase inside a word earn no hint.
	if r := e.say("U1", "note "+a.ID+" the default pool is blameless"); strings.Contains(r.Text, "blameless notes") {
		t.Errorf("a hint for %q", "the default pool is blameless")
	}
}

// A chat that is no team's is open only to the people klaxon knows, and
// never guesses the incident.
func TestChatOutsideTeamChannels(t *testing.T) {
	e := newChatEnv(t, boltStore(t), withPeople)
	inc := e.open("g1")
	dm := func(user, text string) chatops.Reply {
		return e.srv.Handle(context.Background(), chatops.Request{Platform: "telegram", UserID: user, UserName: "mallory", Channel: "999", Text: text})
	}
	for _, text := range []string{"list", "show " + inc.ID, "ack " + inc.ID, "declare boom", "postmortem"} {
		wantReply(t, dm("666", text), "not one of klaxon's team channels")
	}
	wantReply(t, dm("111", "ack"), "This chat is no team's: name the incident")
	wantReply(t, dm("111", "list"), "1 open:")
	wantReply(t, dm("111", "ack "+inc.ID), "Acknowledged by alice")
	if got := e.get(inc.ID); got.AckedBy != "alice" {
		t.Fatalf("acked by %q", got.AckedBy)
	}
}

func TestChatButtons(t *testing.T) {
	e := newChatEnv(t, redisStore(t), withPeople)
	e.start()
	inc := e.open("g1")
	m := synced(t, e.slack, slackC, inc)
	signer := bot.NewButtonSigner(e.cfg.ButtonKeySecret())
	key := signer.Sign(bot.Slack, inc.ID, templates.Action{ID: templates.ActAck})
	r := e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: "UBOB", Channel: slackC, Thread: m.ref, Button: key})
	if r.Unauthorized || r.Card == nil || r.Card.State != incidents.Acknowledged {
		t.Fatalf("ack button: %+v", r)
	}
	waitFor(t, 5*time.Second, "every card acknowledged", func() bool {
		return len(e.slack.cards(slackC, inc.ID)) == 1 && e.slack.cards(slackC, inc.ID)[0].state == incidents.Acknowledged &&
			len(e.tg.cards(tgChat, inc.ID)) == 1 && e.tg.cards(tgChat, inc.ID)[0].state == incidents.Acknowledged
	})
	snooze := signer.Sign(bot.Slack, inc.ID, templates.Action{ID: templates.ActSnooze, Arg: "1h"})
	wantReply(t, e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: "UBOB", Channel: slackC, Button: snooze}), "Escalation snoozed for 1h")
	forged := bot.NewButtonSigner([]byte("another klaxon")).Sign(bot.Slack, inc.ID, templates.Action{ID: templates.ActResolve})
	if r := e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: "UBOB", Channel: slackC, Button: forged}); !r.Unauthorized {
		t.Fatalf("a forged key acted: %+v", r)
	}
	if got := e.get(inc.ID); got.State != incidents.Acknowledged || got.AckedBy != "bob" {
		t.Fatalf("after the buttons: %s by %s", got.State, got.AckedBy)
	}
	// A command typed in the card's thread (a Telegram reply) needs no ID,
	// even with another incident open in the chat.
	other := e.open("g2")
	synced(t, e.tg, tgChat, other)
	tgCard := e.tg.cards(tgChat, inc.ID)[0]
	r = e.srv.Handle(context.Background(), chatops.Request{Platform: "telegram", UserID: "111", Channel: tgChat, Thread: tgCard.ref, Text: "resolve fixed"})
	wantReply(t, r, inc.ID+": Resolved by alice: fixed")
}

func TestChatResponders(t *testing.T) {
	e := newChatEnv(t, boltStore(t), func(c *bot.Config) {
		withPeople(c)
		c.Teams[0].Responders = []string{"alice"}
	})
	inc := e.open("g1")
	wantReply(t, e.say("UBOB", "ack"), "Sorry, only the payments team's responders (alice) can change "+inc.ID)
	wantReply(t, e.say("UNOBODY", "ack"), "Sorry, only the payments team's responders")
	wantReply(t, e.say("UBOB", "show"), inc.ID)
	wantReply(t, e.say("UALICE", "ack"), "Acknowledged by alice")
}

func TestChatDeclare(t *testing.T) {
	e := newChatEnv(t, redisStore(t), withPeople)
	e.start()
	r := e.say("UALICE", "declare Checkout is down for EU customers sev 1")
	wantReply(t, r, "alice declared INC-1 (SEV1, team payments): Checkout is down for EU customers")
	if r.Ephemeral {
		t.Error("a declaration is not ephemeral: the channel should see it")
	}
	inc := e.get("INC-1")
	if inc.Source != "declared" || inc.Team != "payments" || inc.Severity != incidents.Sev1 || inc.Timeline[len(inc.Timeline)-1].Text != "Declared by alice from Slack" {
		t.Fatalf("declared incident %+v", inc)
	}
	synced(t, e.slack, slackC, inc)
	wantReply(t, e.say("UALICE", "declare x team nosuch"), `there is no team "nosuch"`)
}

// A command without an ID finds the channel's one open incident however
// many other teams leave open (past one page of the store's list).
func TestChatFindsTheChannelsIncidentAmongMany(t *testing.T) {
	e := newChatEnv(t, redisStore(t), nil)
	ours := e.open("ours") // the oldest: on the last page
	for i := range incidents.MaxListLimit + 5 {
		b := storetest.Batch(fmt.Sprintf("other-%d", i), storetest.Alert(fmt.Sprintf("o%d", i), incidents.AlertFiring, e.clock.Now()))
		b.Team = "elsewhere"
		if _, err := e.store.Ingest(context.Background(), b, storetest.Opts(e.clock.Now())); err != nil {
			t.Fatal(err)
		}
	}
	wantReply(t, e.say("U1", "ack"), ours.ID+": Acknowledged by u1 (Slack)")
	wantReply(t, e.say("U1", "list"), "1 open:\n"+ours.ID)
}

// A command that could mean any of several open incidents answers with a
// button each, newest first, that carries it out on that incident; a
// command a button cannot carry (its text) keeps the plain answer.
func TestChatChoices(t *testing.T) {
	e := newChatEnv(t, boltStore(t), withPeople)
	a, b := e.open("g1"), e.open("g2")
	signer := bot.NewButtonSigner(e.cfg.ButtonKeySecret())
	press := func(user string, c chatops.Choice) chatops.Reply {
		t.Helper()
		return e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: user, Channel: slackC, Button: c.Key})
	}
	choose := func(user, text string) []chatops.Choice {
		t.Helper()
		r := e.say(user, text)
		wantReply(t, r, "2 incidents are open here ("+b.ID+", "+a.ID+"): which one? Choose below")
		if len(r.Choices) != 2 || !r.Ephemeral || !strings.HasPrefix(r.Choices[0].Label, b.ID+" · ") || !strings.HasPrefix(r.Choices[1].Label, a.ID+" · ") {
			t.Fatalf("%s: choices %+v", text, r.Choices)
		}
		for i, c := range r.Choices {
			id, _, err := signer.Verify(bot.Slack, c.Key)
			if err != nil || id != []string{b.ID, a.ID}[i] {
				t.Fatalf("%s: choice %d key %q: %s, %v", text, i, c.Key, id, err)
			}
		}
		return r.Choices
	}
	wantReply(t, press("UALICE", choose("UALICE", "ack")[1]), a.ID+": Acknowledged by alice.")
	if got := e.get(a.ID); got.AckedBy != "alice" {
		t.Fatalf("%s acknowledged by %q", a.ID, got.AckedBy)
	}
	if got := e.get(b.ID); got.State != incidents.Triggered {
		t.Fatalf("%s is %s", b.ID, got.State)
	}
	wantReply(t, press("UBOB", choose("UBOB", "snooze 90m")[0]), "Escalation snoozed for 1h30m")
	wantReply(t, press("UBOB", choose("UBOB", "sev 1")[0]), "(set by bob)")
	if got := e.get(b.ID); got.Severity != incidents.Sev1 {
		t.Errorf("%s severity %s", b.ID, got.Severity)
	}
	wantReply(t, press("UBOB", choose("UBOB", "show")[1]), "Acknowledged by alice at")
	wantReply(t, press("UBOB", choose("UBOB", "timeline")[1]), a.ID+" timeline (UTC):")
	if r := press("UBOB", choose("UBOB", "postmortem")[0]); r.Document == nil || !strings.HasPrefix(r.Document.Name, b.ID) {
		t.Errorf("postmortem by button: %+v", r)
	}
	for _, text := range []string{"note the pool was too small", "resolve it was the pool", "lead @alice", "role scribe @bob"} {
		r := e.say("UBOB", text)
		if len(r.Choices) != 0 || !strings.Contains(r.Text, "which one? e.g. /incident "+strings.Fields(text)[0]+" "+b.ID) {
			t.Errorf("%s: %+v", text, r)
		}
	}
	wantReply(t, press("UBOB", choose("UBOB", "resolve")[0]), b.ID+" resolved.")
	// One open: it acts at once.
	wantReply(t, e.say("UBOB", "resolve"), a.ID+" resolved.")
	metrics := e.do("GET", "/metrics", "").body
	if !strings.Contains(metrics, `klaxon_chat_requests_total{kind="command",platform="slack",result="choices",verb="ack"} 1`) {
		t.Error("offering choices is not counted")
	}
}

// klaxon's postmortem link is a Link of its own, not text: the adapters
// show it as a real link when it is under server.public_url.
func TestChatPostmortemLink(t *testing.T) {
	e := newChatEnv(t, boltStore(t), func(c *bot.Config) { c.Server.PublicURL = "https://klaxon.example.com/" })
	inc := e.open("g1")
	r := e.say("U1", "postmortem")
	want := "https://klaxon.example.com/api/v1/incidents/" + inc.ID + "/postmortem.md"
	if len(r.Links) != 1 || r.Links[0].URL != want || strings.Contains(r.Text, "://") || !chatops.LinkUnder(e.cfg.Server.PublicURL, r.Links[0].URL) {
		t.Errorf("reply %+v, want a link to %s", r, want)
	}
}
