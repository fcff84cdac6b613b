package bot_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// feedbackButtons returns the card's "was it actionable?" buttons.
func feedbackButtons(c *templates.Card) []templates.Action {
	var out []templates.Action
	for _, a := range c.Actions {
		if a.ID == templates.ActFeedback {
			out = append(out, a)
		}
	}
	return out
}

// A resolved card asks once: the first press is the answer, the card then
// shows it and no buttons; a second press (a card not yet updated) is
// refused; a typed command replaces the answer.
func TestFeedbackButtonsAskOnce(t *testing.T) {
	e := newChatEnv(t, boltStore(t), withPeople)
	inc := e.open("g1")
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	card, err := tmpl.Card(inc, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b := feedbackButtons(card); len(b) != 0 {
		t.Fatalf("an open incident's card asks whether it was actionable: %+v", b)
	}
	inc = e.act(inc.ID, incidents.Resolve)
	card, _ = tmpl.Card(inc, e.clock.Now())
	b := feedbackButtons(card)
	if len(b) != 2 || b[0].Label != "Actionable" || b[0].Arg != "yes" || b[1].Label != "Not actionable" || b[1].Arg != "no" {
		t.Fatalf("the resolved card's feedback buttons: %+v", b)
	}
	signer := bot.NewButtonSigner(e.cfg.ButtonKeySecret())
	press := func(user string, a templates.Action) chatops.Reply {
		return e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: user, Channel: slackC, Button: signer.Sign(bot.Slack, inc.ID, a)})
	}
	r := press("UALICE", b[1])
	wantReply(t, r, inc.ID+": Marked not actionable by alice.")
	if r.Card == nil || len(feedbackButtons(r.Card)) != 0 || r.Card.Owner == "" || !strings.Contains(r.Card.Owner, "Not actionable — alice") {
		t.Fatalf("the card after the answer: %+v", r.Card)
	}
	wantReply(t, press("UBOB", b[0]), inc.ID+" was marked not actionable by alice already; to change the answer: /incident feedback "+inc.ID+" yes|no [why]")
	if got := e.get(inc.ID); got.Feedback == nil || got.Feedback.Actionable || got.Feedback.By != "alice" {
		t.Fatalf("feedback after the second press: %+v", got.Feedback)
	}
	wantReply(t, e.say("UBOB", "feedback "+inc.ID+" yes it paged the right person"), inc.ID+": Marked actionable by bob: it paged the right person.")
	got := e.get(inc.ID)
	if got.Feedback == nil || !got.Feedback.Actionable || got.Feedback.By != "bob" || got.Feedback.Why != "it paged the right person" {
		t.Fatalf("feedback after the command: %+v", got.Feedback)
	}
	if last := got.Timeline[len(got.Timeline)-1]; last.Kind != incidents.EventFeedback || last.Actor != "bob" {
		t.Fatalf("the timeline's last event: %+v", last)
	}
	card, _ = tmpl.Card(got, e.clock.Now())
	if !strings.Contains(card.Owner, "Actionable — bob") || len(feedbackButtons(card)) != 0 {
		t.Fatalf("card after the command: %q %+v", card.Owner, card.Actions)
	}
}

func TestFeedbackCommandParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bot.Command
		err  string
	}{
		{"feedback INC-4 yes", bot.Command{Verb: bot.VerbFeedback, ID: "INC-4", Actionable: true}, ""},
		{"feedback 4 no it fixed itself", bot.Command{Verb: bot.VerbFeedback, ID: "INC-4", Text: "it fixed itself"}, ""},
		{"feedback no", bot.Command{Verb: bot.VerbFeedback}, ""},
		{"actionable INC-4 not actionable flapping", bot.Command{Verb: bot.VerbFeedback, ID: "INC-4", Text: "flapping"}, ""},
		{"feedback INC-4", bot.Command{}, "say yes or no; usage: feedback [ID] <yes|no> [why]"},
		{"feedback INC-4 maybe", bot.Command{}, "say yes or no"},
		{"report", bot.Command{Verb: bot.VerbReport, Days: 7}, ""},
		{"report 30d", bot.Command{Verb: bot.VerbReport, Days: 30}, ""},
		{"report 90d", bot.Command{}, "the period is 7d or 30d; usage: report [7d|30d]"},
	} {
		got, err := bot.ParseCommand(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(incidents.ErrorMessage(err), c.err) {
				t.Errorf("%q: %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestFeedbackAPI(t *testing.T) {
	e := apiEnv(t)
	r := e.do("POST", "/hooks/alertmanager", amPayload("g1"))
	id := r.json(t)["incident"].(string)
	path := "/api/v1/incidents/" + id + "/feedback"
	if r := e.do("POST", path, `{"actionable":false,"why":"it fixed itself"}`, bearer(readToken)...); r.code != 403 {
		t.Fatalf("read token: %d %s", r.code, r.body)
	}
	if r := e.do("POST", path, `{"why":"x"}`, bearer(aliceToken)...); r.code != 400 || !strings.Contains(r.body, `feedback takes {\"actionable\": true`) {
		t.Fatalf("no answer: %d %s", r.code, r.body)
	}
	if r := e.do("POST", path, `{"actionable":false,"text":"x"}`, bearer(aliceToken)...); r.code != 400 {
		t.Fatalf("a field feedback does not take: %d %s", r.code, r.body)
	}
	r = e.do("POST", path, `{"actionable":false,"why":"it fixed itself"}`, bearer(aliceToken)...)
	if r.code != 200 || !strings.Contains(r.body, "Marked not actionable by alice (api): it fixed itself") {
		t.Fatalf("feedback: %d %s", r.code, r.body)
	}
	inc, err := e.store.Get(context.Background(), id)
	if err != nil || inc.Feedback == nil || inc.Feedback.Actionable || inc.Feedback.By != "alice (api)" {
		t.Fatalf("stored: %+v %v", inc, err)
	}
}

// The feedback buttons' keys fit every platform (Telegram's 64 bytes) for
// the largest incident numbers, bound (Mattermost) or not, and read back.
func TestFeedbackButtonKeys(t *testing.T) {
	s := bot.NewButtonSigner([]byte("0123456789abcdef0123456789abcdef"))
	for _, id := range []string{"INC-1", "INC-99999999"} {
		for _, arg := range []string{"yes", "no"} {
			a := templates.Action{ID: templates.ActFeedback, Arg: arg}
			for _, p := range []string{bot.Slack, bot.Telegram} {
				k := s.Sign(p, id, a)
				gotID, gotA, err := s.Verify(p, k)
				if k == "" || len(k) > bot.MaxButtonKey || err != nil || gotID != id || gotA != a {
					t.Errorf("%s %s %s: key %q (%d bytes) → %s %+v %v", p, id, arg, k, len(k), gotID, gotA, err)
				}
			}
			exp := time.Now().Add(bot.ButtonKeyTTL)
			k := s.SignBound(bot.Mattermost, "paymentschannel0000000000a", id, a, exp)
			if _, gotA, err := s.VerifyBound(bot.Mattermost, "paymentschannel0000000000a", k, time.Now()); k == "" || len(k) > bot.MaxButtonKey || err != nil || gotA != a {
				t.Errorf("mattermost %s %s: key %q → %+v %v", id, arg, k, gotA, err)
			}
		}
	}
}
