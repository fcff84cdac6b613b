package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// responsePath starts the path of the response URLs the fake hands out.
const responsePath = "/response/"

// MaxResponseUses is how many posts a response URL accepts, as Slack's
// response_url (5 within 30 minutes).
const MaxResponseUses = 5

// Response is a message posted to a response URL (a slash command's or an
// interaction's response_url) and accepted.
type Response struct {
	Path            string          // the URL's path, "/response/1"
	ResponseType    string          // "ephemeral", "in_channel" or ""
	Text            string          //
	ReplaceOriginal *bool           // nil when not sent
	Blocks          json.RawMessage // nil when none
}

// ResponseURL returns a new response URL, as Slack puts in a slash
// command's or an interaction's payload. Posts to it are checked like
// chat.postMessage (text, Block Kit limits) and recorded in Responses; a
// URL accepts MaxResponseUses posts, then answers 404 used_url. Calls()
// counts them as "response_url".
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextURL++
	path := responsePath + strconv.Itoa(s.nextURL)
	s.urlUses[path] = 0
	return s.srv.URL + path
}

// ResponseURLPrefix is what every ResponseURL starts with: the prefix a
// test allows klaxon to post to (slack.InboundOptions.ResponseURLPrefixes).
func (s *Server) ResponseURLPrefix() string { return s.srv.URL + responsePath }

// Responses returns the accepted response URL posts, in arrival order.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Response, len(s.responses))
	for i, r := range s.responses {
		r.Blocks = clone(r.Blocks)
		out[i] = r
	}
	return out
}

// WaitResponses waits until at least n response URL posts were accepted,
// or timeout passes, and returns Responses.
func (s *Server) WaitResponses(n int, timeout time.Duration) []Response {
	deadline := time.Now().Add(timeout)
	for {
		rs := s.Responses()
		if len(rs) >= n || time.Now().After(deadline) {
			return rs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	const method = "response_url"
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Count(method)
	uses, known := s.urlUses[r.URL.Path]
	switch {
	case r.Method != http.MethodPost:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"ok": false, "error": "method_not_allowed"})
		return
	case !known:
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "expired_url"})
		return
	case uses >= MaxResponseUses:
		s.violate(method, "", "more than "+strconv.Itoa(MaxResponseUses)+" posts to "+r.URL.Path)
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "used_url"})
		return
	}
	s.urlUses[r.URL.Path]++
	var fields map[string]json.RawMessage
	if err != nil || json.Unmarshal(body, &fields) != nil || fields == nil {
		s.violate(method, "", "body is not a JSON object")
		fail(w, "invalid_payload")
		return
	}
	p := params{}
	var resp Response
	resp.Path = r.URL.Path
	if raw, ok := fields["text"]; ok {
		if json.Unmarshal(raw, &resp.Text) != nil {
			s.violate(method, "", "text is not a string")
			fail(w, "invalid_payload")
			return
		}
		p["text"] = resp.Text
	}
	if raw, ok := fields["blocks"]; ok && string(raw) != "null" {
		p["blocks"] = string(raw)
	}
	if raw, ok := fields["response_type"]; ok {
		if json.Unmarshal(raw, &resp.ResponseType) != nil ||
			(resp.ResponseType != "ephemeral" && resp.ResponseType != "in_channel") {
			s.violate(method, "", "response_type is neither ephemeral nor in_channel: "+truncate(string(raw), 40))
			fail(w, "invalid_payload")
			return
		}
	}
	if raw, ok := fields["replace_original"]; ok {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			s.violate(method, "", "replace_original is not a boolean")
			fail(w, "invalid_payload")
			return
		}
		resp.ReplaceOriginal = &b
	}
	c, ok := s.checkContent(w, method, "", p)
	if !ok {
		return
	}
	resp.Blocks = c.blocks
	s.responses = append(s.responses, resp)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}
