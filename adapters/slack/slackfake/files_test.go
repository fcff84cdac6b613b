package slackfake_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
)

func uploadTo(t *testing.T, u string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUploadFlow(t *testing.T) {
	s := start(t, slackfake.Options{Channels: []string{ch}})
	card := form(t, s, "chat.postMessage", "channel", ch, "text", "card")
	ts := card.field("ts")
	data := []byte("\x89PNG fake bytes")

	// slack-go's own three steps work against the fake.
	api := slack.New(s.Token(), slack.OptionAPIURL(s.URL()))
	f, err := api.UploadFileContext(context.Background(), slack.UploadFileParameters{
		Reader: bytes.NewReader(data), FileSize: len(data), Filename: "g.png", Title: "graph",
		Channel: ch, ThreadTimestamp: ts, InitialComment: "p99"})
	if err != nil {
		t.Fatal(err)
	}
	imgs := s.Images(ch)
	if len(imgs) != 1 || imgs[0].FileID != f.ID || !bytes.Equal(imgs[0].Bytes, data) || imgs[0].ThreadTS != ts ||
		imgs[0].Caption != "p99" || imgs[0].Title != "graph" || imgs[0].Name != "g.png" {
		t.Errorf("images %+v", imgs)
	}

	// A raw body works as well; the length must be the one declared, and
	// the URL serves once.
	a := form(t, s, "files.getUploadURLExternal", "filename", "g.png", "length", "5")
	u, id := a.field("upload_url"), a.field("file_id")
	if !a.ok() || !strings.HasPrefix(u, strings.TrimSuffix(s.URL(), "/api/")) || id == "" {
		t.Fatalf("getUploadURLExternal: %+v", a.body)
	}
	if st, _ := uploadTo(t, u, []byte("1234")); st != http.StatusBadRequest {
		t.Errorf("4 bytes of 5: %d", st)
	}
	if st, _ := uploadTo(t, u, []byte("123456")); st != http.StatusBadRequest {
		t.Errorf("6 bytes of 5: %d", st)
	}
	// Not uploaded yet.
	if a := form(t, s, "files.completeUploadExternal", "files", `[{"id":"`+id+`"}]`, "channel_id", ch); a.error() != "file_not_found" {
		t.Errorf("complete before upload: %+v", a.body)
	}
	if st, body := uploadTo(t, u, []byte("12345")); st != http.StatusOK || body != "OK - 5" {
		t.Errorf("5 bytes: %d %q", st, body)
	}
	if st, _ := uploadTo(t, u, []byte("12345")); st != http.StatusNotFound {
		t.Errorf("the URL again: %d", st)
	}
	if st, _ := uploadTo(t, s.URL()[:len(s.URL())-len("/api/")]+"/upload/v1/nope", []byte("1")); st != http.StatusNotFound {
		t.Errorf("a URL never handed out: %d", st)
	}
	for _, c := range []struct{ files, channel, threadTS, want string }{
		{`[{"id":"F0NOPE"}]`, ch, "", "file_not_found"},
		{`not json`, ch, "", "invalid_arguments"},
		{`[]`, ch, "", "invalid_arguments"},
		{`[{"id":"` + id + `"}]`, "C0OTHER9", "", "channel_not_found"},
		{`[{"id":"` + id + `"}]`, ch, "1.000001", "thread_not_found"},
	} {
		if a := form(t, s, "files.completeUploadExternal", "files", c.files, "channel_id", c.channel, "thread_ts", c.threadTS); a.error() != c.want {
			t.Errorf("complete %s in %s/%s: %+v, want %s", c.files, c.channel, c.threadTS, a.body, c.want)
		}
	}
	if a := form(t, s, "files.completeUploadExternal", "files", `[{"id":"`+id+`","title":"t"}]`, "channel_id", ch, "thread_ts", ts); !a.ok() {
		t.Errorf("complete: %+v", a.body)
	}
	if a := form(t, s, "files.completeUploadExternal", "files", `[{"id":"`+id+`"}]`, "channel_id", ch); a.error() != "file_not_found" {
		t.Errorf("complete twice: %+v", a.body)
	}
	if n := len(s.Images(ch)); n != 2 {
		t.Errorf("%d images", n)
	}
	// The deleted card's images go with it.
	s.Delete(ch + "/" + ts)
	if n := len(s.Images(ch)); n != 0 {
		t.Errorf("%d images after the card was deleted", n)
	}
	if a := form(t, s, "files.getUploadURLExternal", "filename", "g.png"); a.error() != "invalid_arguments" {
		t.Errorf("no length: %+v", a.body)
	}
	// files.upload is retired.
	if a := form(t, s, "files.upload", "channels", ch, "content", "x", "filename", "g.png"); a.error() != "method_deprecated" {
		t.Errorf("files.upload: %+v", a.body)
	}
	if v := s.Violations(); len(v) != 11 {
		t.Errorf("%d violations: %q", len(v), v)
	}
}

func TestUploadScopes(t *testing.T) {
	s := start(t, slackfake.Options{Scopes: []string{"chat:write"}})
	a := form(t, s, "files.getUploadURLExternal", "filename", "g.png", "length", "5")
	if a.error() != "missing_scope" || a.field("needed") != "files:write" || a.field("provided") != "chat:write" {
		t.Errorf("without files:write: %+v", a.body)
	}
}
