package twilio_test

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/twilio"
)

type say struct {
	Voice string `xml:"voice,attr"`
	Text  string `xml:",chardata"`
}

type response struct {
	XMLName xml.Name `xml:"Response"`
	Gather  *struct {
		NumDigits string `xml:"numDigits,attr"`
		Action    string `xml:"action,attr"`
		Method    string `xml:"method,attr"`
		Timeout   string `xml:"timeout,attr"`
		Says      []say  `xml:"Say"`
	} `xml:"Gather"`
	Says []say `xml:"Say"`
}

func parse(t *testing.T, twiml string) response {
	t.Helper()
	var r response
	if err := xml.Unmarshal([]byte(twiml), &r); err != nil {
		t.Fatalf("%v in %q", err, twiml)
	}
	return r
}

func TestGatherTwimlEscapes(t *testing.T) {
	title := `Disk <full> on "db-1" & 'db-2'` + "\n" + `</Say><Hangup/>`
	action := `https://klaxon.example.com/twilio/gather?i=INC-1&k="x"<y>`
	voice := `Polly.Joanna" foo="bar`
	twiml := twilio.GatherTwiml(title, action, voice)
	if strings.Contains(twiml, "<full>") || strings.Contains(twiml, "<Hangup/>") || strings.Contains(twiml, `foo="bar"`) {
		t.Fatalf("unescaped: %s", twiml)
	}
	if !strings.HasPrefix(twiml, `<Response><Gather numDigits="1" action="`) {
		t.Errorf("starts %q", twiml)
	}
	r := parse(t, twiml)
	g := r.Gather
	if g == nil || g.NumDigits != "1" || g.Action != action || g.Method != "POST" || g.Timeout != "8" {
		t.Fatalf("gather %+v", g)
	}
	if len(g.Says) != 2 {
		t.Fatalf("%d says in the gather", len(g.Says))
	}
	for _, s := range g.Says {
		if s.Text != title || s.Voice != voice {
			t.Errorf("say %+v", s)
		}
	}
	if len(r.Says) != 1 || r.Says[0].Text != twilio.Goodbye {
		t.Errorf("after the gather: %+v", r.Says)
	}

	// No voice: no voice attribute.
	if tw := twilio.GatherTwiml("hi", "https://x.example/g", ""); strings.Contains(tw, "voice=") {
		t.Errorf("voice attribute: %s", tw)
	}
}

func TestGatherTwimlFits(t *testing.T) {
	action := "https://klaxon.example.com/twilio/gather?i=INC-1"
	for name, text := range map[string]string{
		"plain":     strings.Repeat("disk full on db-1 ", 400),
		"ampersand": strings.Repeat("&", 5000), // 5 bytes escaped
		"quotes":    strings.Repeat(`"<'>`, 1000),
		"accents":   strings.Repeat("é€😀 ", 2000),
		"one word":  strings.Repeat("x", 9000),
	} {
		twiml := twilio.GatherTwiml(text, action, "alice")
		if len(twiml) > twilio.MaxTwiml || !utf8.ValidString(twiml) {
			t.Errorf("%s: %d bytes", name, len(twiml))
			continue
		}
		r := parse(t, twiml)
		if r.Gather == nil || len(r.Gather.Says) != 1 {
			t.Errorf("%s: %+v", name, r.Gather)
			continue
		}
		got := r.Gather.Says[0].Text
		kept := strings.TrimSuffix(got, "…")
		if kept == got || kept == "" || !strings.HasPrefix(text, kept) {
			t.Errorf("%s: said %q", name, got)
		}
		if twilio.MaxTwiml-len(twiml) > 40 {
			t.Errorf("%s: %d bytes: cut too much", name, len(twiml))
		}
	}
	// Short enough to say twice: said twice, not cut.
	mid := strings.Repeat("a", 1500)
	if r := parse(t, twilio.GatherTwiml(mid, action, "")); len(r.Gather.Says) != 2 || r.Gather.Says[0].Text != mid {
		t.Errorf("1500 characters: %+v", r.Gather.Says)
	}
}

func TestSayTwiml(t *testing.T) {
	if got := twilio.SayTwiml(`Ack <by> "bob" & co`); got != `<Response><Say>Ack &lt;by&gt; &#34;bob&#34; &amp; co</Say></Response>` {
		t.Errorf("SayTwiml = %s", got)
	}
	long := twilio.SayTwiml(strings.Repeat("<&> ", 3000))
	if len(long) > twilio.MaxTwiml {
		t.Errorf("%d bytes", len(long))
	}
	r := parse(t, long)
	if len(r.Says) != 1 || !strings.HasSuffix(r.Says[0].Text, "…") {
		t.Errorf("%+v", r.Says)
	}
}
