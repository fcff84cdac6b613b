package telegramfake

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func cmds(pairs ...string) []map[string]string {
	var out []map[string]string
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, map[string]string{"command": pairs[i], "description": pairs[i+1]})
	}
	return out
}

func TestSetMyCommands(t *testing.T) {
	s := New(Options{Chats: []int64{-100}})
	defer s.Close()

	if a := call(t, s, s.Token(), "setMyCommands", map[string]any{"commands": cmds("ack", "Acknowledge", "help_me2", "Help")}); !a.OK {
		t.Fatalf("valid list refused: %+v", a)
	}
	want := []BotCommand{{"ack", "Acknowledge"}, {"help_me2", "Help"}}
	if got, ok := s.MyCommands(CommandScope{}, ""); !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("MyCommands = %v, %v; want %v", got, ok, want)
	}
	a := call(t, s, s.Token(), "getMyCommands", nil)
	var got []BotCommand
	if err := json.Unmarshal(a.Result, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("getMyCommands = %s (%v); want %v", a.Result, err, want)
	}
	// Another scope and language are other lists.
	if a := callJSON(t, s, "getMyCommands", map[string]any{"scope": map[string]any{"type": "all_group_chats"}, "language_code": "de"}); !a.OK || string(a.Result) != "[]" {
		t.Errorf("getMyCommands of another scope = %+v", a)
	}
	if a := callJSON(t, s, "setMyCommands", map[string]any{"commands": cmds("ack", "Quittieren"), "scope": map[string]any{"type": "chat", "chat_id": -100}, "language_code": "de"}); !a.OK {
		t.Errorf("chat scope refused: %+v", a)
	}
	if got, _ := s.MyCommands(CommandScope{Type: "chat", ChatID: -100}, "de"); len(got) != 1 || got[0].Description != "Quittieren" {
		t.Errorf("chat scope list = %v", got)
	}
	// No commands parameter sets an empty list, as Telegram does.
	if a := call(t, s, s.Token(), "setMyCommands", nil); !a.OK {
		t.Errorf("empty setMyCommands: %+v", a)
	}
	if got, ok := s.MyCommands(CommandScope{Type: "default"}, ""); ok || len(got) != 0 {
		t.Errorf("after an empty set: %v, %v", got, ok)
	}
	if n := len(s.Violations()); n != 0 {
		t.Errorf("violations: %v", s.Violations())
	}

	long := strings.Repeat("x", 257)
	many := []map[string]string{}
	for i := range 101 {
		many = append(many, map[string]string{"command": fmt.Sprintf("c%d", i), "description": "d"})
	}
	heavy := []map[string]string{}
	for i := range 20 {
		heavy = append(heavy, map[string]string{"command": fmt.Sprintf("c%d", i), "description": strings.Repeat("y", 250)})
	}
	for _, c := range []struct {
		name   string
		params map[string]any
		desc   string
	}{
		{"upper case", map[string]any{"commands": cmds("Ack", "x")}, "Bad Request: BOT_COMMAND_INVALID"},
		{"slash", map[string]any{"commands": cmds("/ack", "x")}, "Bad Request: BOT_COMMAND_INVALID"},
		{"dash", map[string]any{"commands": cmds("on-call", "x")}, "Bad Request: BOT_COMMAND_INVALID"},
		{"empty name", map[string]any{"commands": cmds("", "x")}, "Bad Request: BOT_COMMAND_INVALID"},
		{"long name", map[string]any{"commands": cmds(strings.Repeat("a", 33), "x")}, "Bad Request: command length must not exceed 32"},
		{"repeated", map[string]any{"commands": cmds("ack", "x", "ack", "y")}, "Bad Request: BOT_COMMAND_INVALID"},
		{"empty description", map[string]any{"commands": cmds("ack", "")}, "Bad Request: command description must be non-empty"},
		{"long description", map[string]any{"commands": cmds("ack", long)}, "Bad Request: command description length must not exceed 256"},
		{"no description", map[string]any{"commands": []map[string]string{{"command": "ack"}}}, `Bad Request: can't parse BotCommand: Can't find field "description"`},
		{"not an array", map[string]any{"commands": map[string]string{"command": "ack"}}, `Bad Request: field "commands" must be of type Array`},
		{"101 commands", map[string]any{"commands": many}, "Bad Request: BOT_COMMANDS_TOO_MUCH"},
		{"5,000 characters", map[string]any{"commands": heavy}, "Bad Request: BOT_COMMANDS_TOO_MUCH"},
		{"bad scope", map[string]any{"commands": cmds("ack", "x"), "scope": map[string]any{"type": "everyone"}}, "Bad Request: unsupported bot command scope type"},
		{"bad language", map[string]any{"commands": cmds("ack", "x"), "language_code": "deu"}, "Bad Request: invalid language code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(s.Violations())
			wantError(t, call(t, s, s.Token(), "setMyCommands", c.params), 400, c.desc)
			if len(s.Violations()) != before+1 {
				t.Errorf("not recorded as a violation")
			}
		})
	}
	wantError(t, callJSON(t, s, "setMyCommands", map[string]any{"commands": cmds("ack", "x"), "scope": map[string]any{"type": "chat", "chat_id": -5}}), 400, "Bad Request: chat not found")
	if got, ok := s.MyCommands(CommandScope{}, ""); ok {
		t.Errorf("a refused list was kept: %v", got)
	}
	if n := s.Calls()["setMyCommands"]; n != 18 {
		t.Errorf("Calls[setMyCommands] = %d, want 18", n)
	}
	wantError(t, call(t, s, "1:wrong", "setMyCommands", map[string]any{"commands": cmds("ack", "x")}), 401, "Unauthorized")
}
