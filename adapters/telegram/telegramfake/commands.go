package telegramfake

import (
	"encoding/json"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Limits of setMyCommands.
const (
	MaxCommands           = 100 // commands in one list
	MaxCommandName        = 32  // characters of a command, a-z 0-9 _
	MaxCommandDescription = 256 // characters of a description
	// MaxCommandsText is the most characters of all descriptions together:
	// Telegram answers BOT_COMMANDS_TOO_MUCH to long lists well under 100
	// commands (observed near 4,000 characters of descriptions; the exact
	// rule is unpublished), so the fake refuses more than this.
	MaxCommandsText = 4000
)

// BotCommand is a command of the bot's menu.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// CommandScope is a BotCommandScope: Type "default" (also when the scope is
// not given), "all_private_chats", "all_group_chats",
// "all_chat_administrators", "chat", "chat_administrators" or
// "chat_member", with the chat and user those name.
type CommandScope struct {
	Type   string
	ChatID int64
	UserID int64
}

// commandKey names one list: a scope and a language ("" = every language).
type commandKey struct {
	scope CommandScope
	lang  string
}

var (
	commandNameRE  = regexp.MustCompile(`^[a-z0-9_]+$`)
	languageCodeRE = regexp.MustCompile(`^[a-z]{2}$`)
)

// MyCommands returns the commands set for scope and language code lang (""
// = every language), as getMyCommands answers them, and whether a list was
// set there (an empty list deletes it).
func (s *Server) MyCommands(scope CommandScope, lang string) ([]BotCommand, bool) {
	if scope.Type == "" {
		scope.Type = "default"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list, ok := s.commands[commandKey{scope, lang}]
	return append([]BotCommand(nil), list...), ok
}

// commandTarget reads scope and language_code; s.mu is held.
func (s *Server) commandTarget(params map[string]string) (commandKey, *apiError) {
	k := commandKey{scope: CommandScope{Type: "default"}, lang: params["language_code"]}
	if k.lang != "" && !languageCodeRE.MatchString(k.lang) {
		// The description Telegram gives here is unverified.
		return k, badRequest("invalid language code specified", true)
	}
	raw := params["scope"]
	if raw == "" {
		return k, nil
	}
	var sc struct {
		Type   string          `json:"type"`
		ChatID json.RawMessage `json:"chat_id"`
		UserID int64           `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(raw), &sc); err != nil || sc.Type == "" {
		return k, badRequest("can't parse BotCommandScope JSON object", true)
	}
	k.scope.Type = sc.Type
	switch sc.Type {
	case "default", "all_private_chats", "all_group_chats", "all_chat_administrators":
		return k, nil
	case "chat", "chat_administrators", "chat_member":
		chat, err := strconv.ParseInt(string(sc.ChatID), 10, 64)
		if err != nil || chat == 0 || !s.chatExists(chat) {
			return k, badRequest("chat not found", false)
		}
		k.scope.ChatID = chat
		if sc.Type == "chat_member" {
			if sc.UserID <= 0 {
				return k, badRequest("user not found", true)
			}
			k.scope.UserID = sc.UserID
		}
		return k, nil
	}
	return k, badRequest("unsupported bot command scope type", true)
}

// setMyCommands validates the list as the Bot API does; s.mu is held. No
// "commands" parameter sets an empty list, as Telegram does.
func (s *Server) setMyCommands(params map[string]string) (any, *apiError) {
	k, err := s.commandTarget(params)
	if err != nil {
		return nil, err
	}
	var list []BotCommand
	if raw, ok := params["commands"]; ok {
		var items []map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &items) != nil {
			return nil, badRequest(`field "commands" must be of type Array`, true)
		}
		total := 0
		seen := map[string]bool{}
		for _, it := range items {
			var c BotCommand
			for _, f := range []struct {
				name string
				dst  *string
			}{{"command", &c.Command}, {"description", &c.Description}} {
				v, ok := it[f.name]
				if !ok {
					return nil, badRequest(`can't parse BotCommand: Can't find field "`+f.name+`"`, true)
				}
				if json.Unmarshal(v, f.dst) != nil {
					return nil, badRequest(`can't parse BotCommand: Field "`+f.name+`" must be of type String`, true)
				}
			}
			switch {
			case utf8.RuneCountInString(c.Command) > MaxCommandName:
				return nil, badRequest("command length must not exceed 32", true)
			case !commandNameRE.MatchString(c.Command):
				// Upper case, a leading "/", other letters, empty.
				return nil, badRequest("BOT_COMMAND_INVALID", true)
			case seen[c.Command]:
				// What Telegram answers to a repeated command is
				// unverified; the fake refuses it so that klaxon never
				// sends one.
				return nil, badRequest("BOT_COMMAND_INVALID", true)
			case c.Description == "":
				return nil, badRequest("command description must be non-empty", true)
			case utf16Len(c.Description) > MaxCommandDescription:
				return nil, badRequest("command description length must not exceed 256", true)
			}
			seen[c.Command] = true
			total += utf16Len(c.Description)
			list = append(list, c)
		}
		if len(list) > MaxCommands || total > MaxCommandsText {
			return nil, badRequest("BOT_COMMANDS_TOO_MUCH", true)
		}
	}
	if len(list) == 0 {
		delete(s.commands, k)
	} else {
		s.commands[k] = list
	}
	return true, nil
}

// getMyCommands answers the list of a scope and language; s.mu is held.
func (s *Server) getMyCommands(params map[string]string) (any, *apiError) {
	k, err := s.commandTarget(params)
	if err != nil {
		return nil, err
	}
	out := append([]BotCommand{}, s.commands[k]...)
	return out, nil
}

// deleteMyCommands removes a list; s.mu is held.
func (s *Server) deleteMyCommands(params map[string]string) (any, *apiError) {
	k, err := s.commandTarget(params)
	if err != nil {
		return nil, err
	}
	delete(s.commands, k)
	return true, nil
}
