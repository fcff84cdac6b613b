package bot_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// testInbox reads texts with the adapter's functions, as cmd's does.
type testInbox struct{}

func (testInbox) ParseSMS(form url.Values) (bot.InboundText, error) {
	m, err := twilio.ParseInboundSMS(form)
	if err != nil {
		return bot.InboundText{}, err
	}
	t := bot.InboundText{From: m.From, Body: m.Body, ID: m.MessageSid}
	if kind, ok := twilio.CarrierKeyword(m.Body); ok {
		t.Keyword = map[string]string{twilio.KeywordOptOut: bot.KeywordOptOut, twilio.KeywordOptIn: bot.KeywordOptIn, twilio.KeywordHelp: bot.KeywordHelp}[kind]
	}
	return t, nil
}

func (testInbox) ReplySMS(text string) []byte { return twilio.ReplyTwiML(text) }

const (
	smsURL    = "https://klaxon.example.com/twilio/sms"
	aliceSMS  = "+15551230001" // her phone: sms defaults to it
	bobSMS    = "+15551230022" // his sms, apart from his phone
	twilioNum = "+15550000000"
)

// newSMSEnv is the paging env with Twilio's real signature check over
// server.public_url and the inbox; alice is the team's only responder.
func newSMSEnv(t testing.TB, store incidents.Store) *pageEnv {
	cfg := bot.DefaultConfig()
	pagingConfig(cfg)
	cfg.People[1].SMS = bobSMS
	cfg.Teams[0].Responders = []string{"alice"}
	clock := &fakeClock{now: t0}
	phone, slack, senders := &fakePhone{}, newFakeChat(), newFakeSenders()
	token, public := cfg.Twilio.AuthToken.Reveal(), cfg.Server.PublicURL
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(), Phone: phone, Chats: map[string]bot.Chat{bot.Slack: slack},
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse},
		SMS:     senders, Mailer: senders, Pusher: senders, SMSInbox: testInbox{},
		VerifyPhone: func(r *http.Request, body []byte) (url.Values, error) {
			return twilio.VerifyRequest(token, public, r, body)
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return &pageEnv{escEnv: &escEnv{env: &env{t: t, h: srv.Handler(), clock: clock, store: store}, srv: srv, phone: phone, slack: slack},
		senders: senders, stop: stop}
}

// smsForm is what Twilio posts for a text from from.
func smsForm(from, body string) url.Values {
	b := make([]byte, 16)
	rand.Read(b)
	sid := "SM" + hex.EncodeToString(b)
	return url.Values{"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "MessageSid": {sid}, "SmsMessageSid": {sid},
		"From": {from}, "To": {twilioNum}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "ApiVersion": {"2010-04-01"}}
}

// post sends form to /twilio/sms signed with the account's auth token.
func (e *pageEnv) post(form url.Values) response {
	e.t.Helper()
	sig := twilio.Signature("twilio-auth-0123456789abcdef", smsURL, form)
	return e.do("POST", "/twilio/sms", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", twilio.SignatureHeader, sig)
}

// text sends a text from from and returns what klaxon texts back ("" for
// nothing).
func (e *pageEnv) text(from, body string) string {
	e.t.Helper()
	r := e.post(smsForm(from, body))
	return e.twimlReply(r)
}

func (e *pageEnv) twimlReply(r response) string {
	e.t.Helper()
	if r.code != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") {
		e.t.Fatalf("answer %d %q %s", r.code, r.header.Get("Content-Type"), r.body)
	}
	const head = `<?xml version="1.0" encoding="UTF-8"?>`
	switch {
	case r.body == head+`<Response/>`:
		return ""
	case strings.HasPrefix(r.body, head+`<Response><Message>`) && strings.HasSuffix(r.body, `</Message></Response>`):
		s := strings.TrimSuffix(strings.TrimPrefix(r.body, head+`<Response><Message>`), `</Message></Response>`)
		return strings.NewReplacer("&#39;", "'", "&#34;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	}
	e.t.Fatalf("not TwiML: %s", r.body)
	return ""
}

// texted records that klaxon texted person about id at at.
func (e *pageEnv) texted(id, person string, at time.Time) {
	e.t.Helper()
	if _, err := e.store.Update(context.Background(), id, func(inc *incidents.Incident) error {
		inc.RecordPage(at, string(incidents.PageSMS), person)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *pageEnv) get(id string) *incidents.Incident {
	e.t.Helper()
	inc, err := e.store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// "1" acknowledges the incident alice was texted about last, and says
// which when others are open; the next "1" takes the other one.
func TestSMSReplyAcksTheLatestTexted(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newSMSEnv(t, store(t))
		older, newer := e.openAt("g1"), e.openAt("g2")
		e.texted(older.ID, "alice", t0.Add(time.Minute))
		e.texted(newer.ID, "alice", t0.Add(2*time.Minute))
		e.texted(older.ID, "bob", t0.Add(3*time.Minute)) // bob's texts are his
		if got, want := e.text(aliceSMS, "1"), newer.ID+" acknowledged by alice (the latest texted; also open: "+older.ID+")"; got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
		if inc := e.get(newer.ID); inc.State != incidents.Acknowledged || inc.AckedBy != "alice (sms)" {
			t.Fatalf("%s %s by %q", inc.ID, inc.State, inc.AckedBy)
		}
		if got, want := e.text(aliceSMS, " Ack. "), older.ID+" acknowledged by alice"; got != want {
			t.Fatalf("second reply %q, want %q", got, want)
		}
		// Nothing triggered is left: the latest texted says it is acknowledged.
		if got := e.text(aliceSMS, "1"); !strings.HasPrefix(got, newer.ID+" is already acknowledged (by alice (sms) at ") {
			t.Fatalf("third reply %q", got)
		}
		if got := e.metric(`klaxon_sms_inbound_total{result="acknowledged"}`); got != "2" {
			t.Fatalf("acknowledged counted %s", got)
		}
		// bob's "2" is about what he was texted: older.
		if got := e.text(bobSMS, "2"); got != older.ID+" escalated by bob" {
			t.Fatalf("bob's reply %q", got)
		}
	})
}

// Many open incidents texted: the answer names three more, and fits a
// segment.
func TestSMSReplyManyOpen(t *testing.T) {
	e := newSMSEnv(t, boltStore(t))
	var ids []string
	for i := range 6 {
		inc := e.openAt("m" + itoa(i))
		e.texted(inc.ID, "alice", t0.Add(time.Duration(i)*time.Minute))
		ids = append(ids, inc.ID)
	}
	want := ids[5] + " acknowledged by alice (the latest texted; also open: " + ids[4] + ", " + ids[3] + ", " + ids[2] + ", +2 more)"
	if got := e.text(aliceSMS, "1"); got != want || len(got) > 160 {
		t.Fatalf("reply %q, want %q", got, want)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// With an ID: ack, escalate and resolve; resolve needs one; bob (not a
// responder) may act on what he was texted about only.
func TestSMSReplyVerbs(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newSMSEnv(t, store(t))
		a, b := e.openAt("g1"), e.openAt("g2")
		if got, want := e.text(aliceSMS, "ack "+strings.ToLower(a.ID)), a.ID+" acknowledged by alice"; got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
		if got, want := e.text(aliceSMS, "resolve "+strings.TrimPrefix(a.ID, "INC-")), a.ID+" resolved by alice"; got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
		if inc := e.get(a.ID); inc.State != incidents.Resolved {
			t.Fatalf("%s is %s", a.ID, inc.State)
		}
		if got := e.text(aliceSMS, "resolve"); got != "klaxon: resolve needs the incident, e.g. resolve INC-42." {
			t.Fatalf("resolve without an ID: %q", got)
		}
		// bob is texted about b: "2" escalates it though he is no responder.
		e.texted(b.ID, "bob", t0.Add(time.Minute))
		if got, want := e.text(bobSMS, "2"), b.ID+" escalated by bob"; got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
		if got := e.events(b.ID, incidents.EventEscalated); !containsPrefix(got, "Escalation to the next step asked for by bob (sms)") {
			t.Fatalf("timeline %q", got)
		}
		if got := e.text(bobSMS, "resolve "+b.ID); got != "Sorry, only the payments team's responders (alice) can change "+b.ID+"." {
			t.Fatalf("bob's resolve: %q", got)
		}
		if inc := e.get(b.ID); inc.State != incidents.Triggered {
			t.Fatalf("%s is %s", b.ID, inc.State)
		}
		if got := e.text(aliceSMS, "ack INC-999"); got != "INC-999 not found" {
			t.Fatalf("unknown incident: %q", got)
		}
		for _, body := range []string{"hello", "1 2 3", "ack me", "3", ""} {
			if got := e.text(aliceSMS, body); got != "klaxon: reply 1 to ack, 2 to escalate, or ack INC-42, resolve INC-42." {
				t.Fatalf("%q: %q", body, got)
			}
		}
	})
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// What is not acted on: a forged or missing signature (401), a replay
// (no answer, nothing done twice), an unknown number (no answer, counted);
// HELP answers, STOP and START do not.
func TestSMSReplyRefusalsAndKeywords(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newSMSEnv(t, store(t))
		inc := e.openAt("g1")
		e.texted(inc.ID, "alice", t0.Add(time.Minute))

		form := smsForm(aliceSMS, "1")
		forged := twilio.Signature("not-the-auth-token", smsURL, form)
		if r := e.do("POST", "/twilio/sms", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", twilio.SignatureHeader, forged); r.code != http.StatusUnauthorized {
			t.Fatalf("forged: %d %s", r.code, r.body)
		}
		if r := e.do("POST", "/twilio/sms", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); r.code != http.StatusUnauthorized {
			t.Fatalf("unsigned: %d %s", r.code, r.body)
		}
		// Signed over another URL (an attacker's webhook) does not hold here.
		other := twilio.Signature("twilio-auth-0123456789abcdef", "https://evil.example.com/twilio/sms", form)
		if r := e.do("POST", "/twilio/sms", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", twilio.SignatureHeader, other); r.code != http.StatusUnauthorized {
			t.Fatalf("other URL: %d %s", r.code, r.body)
		}
		if got := e.get(inc.ID); got.State != incidents.Triggered {
			t.Fatalf("acted on a forged text: %s", got.State)
		}
		if got := e.metric(`klaxon_sms_inbound_total{result="bad_signature"}`); got != "3" {
			t.Fatalf("bad signatures counted %s", got)
		}

		if got := e.twimlReply(e.post(form)); got != inc.ID+" acknowledged by alice" {
			t.Fatalf("reply %q", got)
		}
		if _, _, err := e.srv.Act(context.Background(), inc.ID, bot.Command{Verb: bot.VerbUnack}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaAPI}); err != nil {
			t.Fatal(err)
		}
		if got := e.twimlReply(e.post(form)); got != "" {
			t.Fatalf("replay answered %q", got)
		}
		if got := e.get(inc.ID); got.State != incidents.Triggered {
			t.Fatalf("the replay acted: %s", got.State)
		}

		if got := e.text("+15559999999", "1"); got != "" {
			t.Fatalf("unknown number answered %q", got)
		}
		if got := e.get(inc.ID); got.State != incidents.Triggered {
			t.Fatalf("an unknown number acted: %s", got.State)
		}
		if got := e.text(aliceSMS, "help"); got != "klaxon incident paging. Reply 1 to ack, 2 to escalate, ack INC-42, resolve INC-42. Reply STOP to stop texts." {
			t.Fatalf("HELP: %q", got)
		}
		for _, kw := range []string{"STOP", "Start", "unsubscribe"} {
			if got := e.text(aliceSMS, kw); got != "" {
				t.Fatalf("%s answered %q", kw, got)
			}
		}
		if r := e.post(url.Values{"From": {aliceSMS}, "Body": {"1"}}); r.code != http.StatusBadRequest {
			t.Fatalf("no MessageSid: %d %s", r.code, r.body)
		}
		for result, want := range map[string]string{"replay": "1", "unknown_number": "1", "help": "1", "opt_out": "2", "opt_in": "1", "invalid": "1"} {
			if got := e.metric(`klaxon_sms_inbound_total{result="` + result + `"}`); got != want {
				t.Errorf("%s counted %s, want %s", result, got, want)
			}
		}
	})
}

// The SMS a page step sends makes "1" act, with nothing but the store to
// go by: a second server on the same store (a replica, or a restart)
// finds it.
func TestSMSReplyAfterARealPage(t *testing.T) {
	st := boltStore(t)
	e := newSMSEnv(t, st)
	inc := e.openAt("g1") // alice: DM and push now, SMS in 2m
	waitFor(t, 5*time.Second, "the DM and the push", func() bool { return len(e.paged(inc.ID)) == 2 })
	e.clock.Add(2 * time.Minute)
	waitFor(t, 5*time.Second, "the SMS", func() bool { return len(e.senders.list("sms")) == 1 })
	waitFor(t, 5*time.Second, "the SMS recorded", func() bool { return len(e.paged(inc.ID)) == 3 })
	if s := e.senders.list("sms")[0]; !strings.Contains(s, "\nReply 1 to ack, 2 to escalate") {
		t.Fatalf("the text says nothing of replies: %q", s)
	}
	e.stop()
	e2 := newSMSEnv(t, st)
	if got := e2.text(aliceSMS, "1"); got != inc.ID+" acknowledged by alice" {
		t.Fatalf("reply %q", got)
	}
}
