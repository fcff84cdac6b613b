package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
)

// TestCommandsParse checks the menu against the Bot API's rules and
// against ParseCommand: every command in it is one klaxon understands, and
// every short command klaxon understands is in it.
func TestCommandsParse(t *testing.T) {
	nameRE := regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	seen := map[string]bool{}
	total := 0
	for _, c := range Commands() {
		if !nameRE.MatchString(c.Command) {
			t.Errorf("command %q breaks the Bot API's rule (1-32 of a-z, 0-9, _)", c.Command)
		}
		if n := utf8.RuneCountInString(c.Description); n < 3 || n > 256 {
			t.Errorf("/%s: description of %d characters, want 3-256", c.Command, n)
		}
		if seen[c.Command] {
			t.Errorf("/%s twice", c.Command)
		}
		seen[c.Command] = true
		total += len(c.Description)
		got, ok := ParseCommand("/"+c.Command+" INC-7", "klaxon_bot")
		if !ok {
			t.Errorf("/%s is in the menu but ParseCommand refuses it", c.Command)
			continue
		}
		verb, _, _ := strings.Cut(got, " ")
		switch c.Command {
		case "incident":
			if verb != "INC-7" {
				t.Errorf("/incident INC-7 = %q", got)
			}
		case "status":
			if verb != "show" {
				t.Errorf("/status = %q, want show", got)
			}
		default:
			if verb != c.Command {
				t.Errorf("/%s parses as %q", c.Command, got)
			}
		}
	}
	for name := range shortCommands {
		if !seen[name] {
			t.Errorf("ParseCommand takes /%s but the menu lacks it", name)
		}
	}
	for _, name := range []string{"incident", "status", "oncall", "ack", "help"} {
		if !seen[name] {
			t.Errorf("the menu lacks /%s", name)
		}
	}
	// Telegram refuses long menus well below 100 commands (see
	// telegramfake.MaxCommandsText): stay far below.
	if total > 2000 {
		t.Errorf("descriptions total %d characters; keep the menu short", total)
	}
}

func TestRegisterCommands(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	in := newInbound(t, s, &recorder{}, nil, "")
	ctx := context.Background()

	if err := in.RegisterCommands(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok := s.MyCommands(telegramfake.CommandScope{}, "")
	if !ok || len(got) != len(Commands()) {
		t.Fatalf("menu = %v, %v; want %d commands", got, ok, len(Commands()))
	}
	for i, c := range Commands() {
		if got[i].Command != c.Command || got[i].Description != c.Description {
			t.Errorf("menu[%d] = %+v, want %+v", i, got[i], c)
		}
	}
	// Idempotent: the same menu is not set again.
	if err := in.RegisterCommands(ctx); err != nil {
		t.Fatal(err)
	}
	if calls := s.Calls(); calls["setMyCommands"] != 1 || calls["getMyCommands"] != 2 {
		t.Errorf("calls = %v, want 1 setMyCommands and 2 getMyCommands", calls)
	}
	// A menu changed elsewhere (@BotFather's /setcommands) is put back.
	u := fmt.Sprintf(s.URL(), s.Token(), "setMyCommands")
	resp, err := http.PostForm(u, url.Values{"commands": {`[{"command":"weather","description":"Today's weather"}]`}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := in.RegisterCommands(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MyCommands(telegramfake.CommandScope{}, ""); len(got) != len(Commands()) || got[0].Command != "ack" {
		t.Errorf("menu after a change elsewhere = %v", got)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}

	// getMyCommands failing: set anyway.
	s.Fail("getMyCommands", 1, 500, "Internal Server Error")
	if err := in.RegisterCommands(ctx); err != nil {
		t.Errorf("with getMyCommands failing: %v", err)
	}
	// setMyCommands failing: an *Error, retryable for a 5xx.
	s.Fail("getMyCommands", 1, 500, "Internal Server Error")
	s.Fail("setMyCommands", 1, 502, "Bad Gateway")
	err = in.RegisterCommands(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Op != "setMyCommands" || !e.Temp {
		t.Errorf("setMyCommands failing: %#v", err)
	}
	if err != nil && strings.Contains(err.Error(), s.Token()) {
		t.Errorf("the error holds the token: %v", err)
	}
}
