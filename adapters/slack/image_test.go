package slack

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
)

func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y += 5 {
		for x := 0; x < w; x += 3 {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imageCard(t *testing.T, c *Client) string {
	t.Helper()
	ref, err := c.Post(context.Background(), ch, paymentsCards(t)["triggered"])
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestPostImage(t *testing.T) {
	s := newFake(t, slackfake.Options{Channels: []string{ch}, Scopes: []string{"chat:write", "files:write"}})
	c := newClient(t, s)
	ref := imageCard(t, c)
	pic := testPNG(t, 800, 300)
	if err := c.PostImage(context.Background(), ref, "INC-42.png", pic, "p99 > 5 s & <!channel> <@U0ALICE>"); err != nil {
		t.Fatal(err)
	}
	imgs := s.Images(ch)
	if len(imgs) != 1 {
		t.Fatalf("images %+v", imgs)
	}
	im := imgs[0]
	if !bytes.Equal(im.Bytes, pic) {
		t.Errorf("the uploaded bytes differ from the PNG (%d vs %d bytes)", len(im.Bytes), len(pic))
	}
	_, ts, _ := ParseRef(ref)
	if im.Parent != ref || im.ThreadTS != ts || im.Name != "INC-42.png" || im.Title != "INC-42.png" {
		t.Errorf("image %+v", im)
	}
	if want := "p99 &gt; 5 s &amp; &lt;!channel&gt; &lt;@U0ALICE&gt;"; im.Caption != want {
		t.Errorf("caption %q, want %q", im.Caption, want)
	}
	if ms := s.Messages(ch); len(ms) != 1 || len(ms[0].Replies) != 1 || ms[0].Replies[0] != im.Caption {
		t.Errorf("thread %+v", ms)
	}
	calls := s.Calls()
	if calls["files.getUploadURLExternal"] != 1 || calls["upload_url"] != 1 || calls["files.completeUploadExternal"] != 1 || calls["files.upload"] != 0 {
		t.Errorf("calls %v", calls)
	}
	if p := s.LastParams("files.getUploadURLExternal"); p["length"] != strconv.Itoa(len(pic)) || p["filename"] != "INC-42.png" {
		t.Errorf("length %q for %d bytes", p["length"], len(pic))
	}
	noViolations(t, s)
}

func TestPostImageRefusals(t *testing.T) {
	const other = "C0NOTIN1"
	s := newFake(t, slackfake.Options{Channels: []string{ch, other}, NotIn: []string{other}})
	c := newClient(t, s)
	ctx := context.Background()
	ref := imageCard(t, c)
	pic := testPNG(t, 40, 20)

	slackErr(t, c.PostImage(ctx, "nonsense", "g.png", pic, ""), "bad_ref", false)
	slackErr(t, c.PostImage(ctx, ref, "g.png", nil, ""), "bad_image", false)
	if n := len(s.Calls()); n != 1 { // chat.postMessage only
		t.Errorf("calls %v for pictures refused before", s.Calls())
	}
	// The bot is not in the channel.
	slackErr(t, c.PostImage(ctx, s.Add(other, "someone's", ""), "g.png", pic, ""), "not_in_channel", false)
	// Rate limits and server errors, at each step.
	s.Fail("files.getUploadURLExternal", 1, http.StatusTooManyRequests, "ratelimited")
	if e := slackErr(t, c.PostImage(ctx, ref, "g.png", pic, ""), "rate_limited", true); e.RetryAfter().Seconds() != 1 || e.Op != "files.getUploadURLExternal" {
		t.Errorf("%v: retry after %v", e, e.RetryAfter())
	}
	s.Fail("upload_url", 1, http.StatusServiceUnavailable, "unavailable")
	if e := slackErr(t, c.PostImage(ctx, ref, "g.png", pic, ""), "http_503", true); e.Op != "upload_url" {
		t.Errorf("op %q", e.Op)
	}
	s.Fail("upload_url", 1, http.StatusTooManyRequests, "slow down")
	slackErr(t, c.PostImage(ctx, ref, "g.png", pic, ""), "rate_limited", true)
	s.Fail("files.completeUploadExternal", 1, http.StatusBadGateway, "")
	slackErr(t, c.PostImage(ctx, ref, "g.png", pic, ""), "http_502", true)
	s.Fail("files.completeUploadExternal", 1, http.StatusOK, "internal_error")
	slackErr(t, c.PostImage(ctx, ref, "g.png", pic, ""), "internal_error", true)
	// A card that is gone.
	s.Delete(ref)
	slackErr(t, c.PostImage(ctx, ref, "g.png", pic, "x"), "message_not_found", false)
	if n := len(s.Images(ch)); n != 0 {
		t.Errorf("%d images", n)
	}
	noViolations(t, s)
}

func TestPostImageScope(t *testing.T) {
	s := newFake(t, slackfake.Options{Channels: []string{ch}, Scopes: []string{"chat:write"}})
	c := newClient(t, s)
	slackErr(t, c.PostImage(context.Background(), imageCard(t, c), "g.png", testPNG(t, 10, 10), ""), "missing_scope", false)
}

// Sharing a file into a channel is a post there: it counts in the
// channel's limit; the files methods have their own tier.
func TestPostImageRateLimited(t *testing.T) {
	s := newFake(t, slackfake.Options{Channels: []string{ch}, PerChannel: 1e-3, Burst: 1})
	c := newClient(t, s)
	ref := imageCard(t, c) // the channel's one post
	e := slackErr(t, c.PostImage(context.Background(), ref, "g.png", testPNG(t, 10, 10), ""), "rate_limited", true)
	if e.Op != "files.completeUploadExternal" || e.RetryAfter() <= 0 {
		t.Errorf("op %q, retry after %v", e.Op, e.RetryAfter())
	}

	s2 := newFake(t, slackfake.Options{Channels: []string{ch}, FilesPerMinute: 1, FilesBurst: 1})
	c2 := newClient(t, s2)
	ref2 := imageCard(t, c2)
	if err := c2.PostImage(context.Background(), ref2, "g.png", testPNG(t, 10, 10), ""); err != nil {
		t.Fatal(err)
	}
	e = slackErr(t, c2.PostImage(context.Background(), ref2, "g.png", testPNG(t, 10, 10), ""), "rate_limited", true)
	if e.Op != "files.getUploadURLExternal" || s2.RateLimited() != 1 {
		t.Errorf("op %q, %d 429s", e.Op, s2.RateLimited())
	}
}

// An upload URL that is neither Slack's nor on the API's host never gets
// the bytes (nor the token slack-go sends with them).
func TestPostImageForeignUploadURL(t *testing.T) {
	var uploads int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/files.getUploadURLExternal"):
			w.Write([]byte(`{"ok":true,"upload_url":"http://files.evil.example/upload/1","file_id":"F1"}`))
		default:
			uploads++
			w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer srv.Close()
	c, err := New(Options{Token: "xoxb-t", APIURL: srv.URL + "/api/"})
	if err != nil {
		t.Fatal(err)
	}
	slackErr(t, c.PostImage(context.Background(), ch+"/1712345678.000100", "g.png", testPNG(t, 10, 10), ""), "bad_response", false)
	if uploads != 0 {
		t.Errorf("%d other calls", uploads)
	}
}

// imagePoster is the method bot/ declares for graphs on cards: the three
// chat clients implement it alike.
type imagePoster interface {
	PostImage(ctx context.Context, ref, name string, png []byte, caption string) error
}

var _ imagePoster = (*Client)(nil)
