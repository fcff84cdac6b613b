package telegram

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/time/rate"

	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

// testPNG draws a w×h PNG with a pattern, so that its bytes are not all
// alike.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y += 7 {
		for x := 0; x < w; x += 3 {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
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
	ref, err := c.Post(context.Background(), chat, card(t, cardtest.Payments(), t0))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestPostImage(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c := newClient(t, s)
	ref := imageCard(t, c)
	pic := testPNG(t, 800, 400)
	if err := c.PostImage(context.Background(), ref, "INC-42.png", pic, "p99 <latency> & @channel — 数据"); err != nil {
		t.Fatal(err)
	}
	ps := s.Photos(chat)
	if len(ps) != 1 {
		t.Fatalf("photos %+v", ps)
	}
	p := ps[0]
	if !bytes.Equal(p.Bytes, pic) {
		t.Errorf("the photo's bytes differ from the PNG sent (%d vs %d bytes)", len(p.Bytes), len(pic))
	}
	if p.ReplyTo != 1 || p.FileName != "INC-42.png" || p.Width != 800 || p.Height != 400 || p.ParseMode != "HTML" {
		t.Errorf("photo %+v", p)
	}
	if !strings.Contains(p.Caption, "p99 <latency> & ") || !strings.Contains(p.Caption, "数据") || strings.Contains(p.CaptionHTML, "<latency>") {
		t.Errorf("caption %q sent as %q", p.Caption, p.CaptionHTML)
	}
	if n := s.Calls()["sendPhoto"]; n != 1 {
		t.Errorf("%d sendPhoto calls", n)
	}
	noViolations(t, s)
}

func TestPostImageCaptionFits(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c := newClient(t, s)
	ref := imageCard(t, c)
	for _, caption := range []string{
		strings.Repeat("😀", 600),        // 1200 UTF-16 units in 600 characters
		strings.Repeat("a&<>", 400),     // escaped: 4 bytes shown as 1 unit each
		strings.Repeat("é", 1023) + "😀", // the last character would take units 1024 and 1025
		strings.Repeat("x", 1024),       // just fits
	} {
		if err := c.PostImage(context.Background(), ref, "g.png", testPNG(t, 20, 10), caption); err != nil {
			t.Fatalf("%.20q…: %v", caption, err)
		}
		ps := s.Photos(chat)
		got := ps[len(ps)-1].Caption
		n := len(utf16.Encode([]rune(got)))
		if n > MaxCaption || n < MaxCaption-2 {
			t.Errorf("%.20q…: caption of %d units shown", caption, n)
		}
		if len(utf16.Encode([]rune(caption))) > MaxCaption && !strings.HasSuffix(got, "…") {
			t.Errorf("%.20q…: cut without …: %q", caption, got[len(got)-10:])
		}
		if !strings.HasPrefix(caption, strings.TrimSuffix(got, "…")) {
			t.Errorf("%.20q…: shown %.20q…, not a prefix", caption, got)
		}
	}
	noViolations(t, s)
}

func TestPostImageRefusals(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{Chats: []int64{-1001234567890}})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	ref := imageCard(t, c)
	pic := testPNG(t, 40, 20)

	// Refused before any call.
	wantCode(t, c.PostImage(ctx, "nonsense", "g.png", pic, ""), "bad_ref", false)
	wantCode(t, c.PostImage(ctx, ref, "g.png", []byte("GIF89a not a png"), ""), "bad_image", false)
	wantCode(t, c.PostImage(ctx, ref, "g.png", nil, ""), "bad_image", false)
	wantCode(t, c.PostImage(ctx, ref, "g.png", testPNG(t, 9000, 1001), ""), "bad_image", false) // width + height > 10000
	wantCode(t, c.PostImage(ctx, ref, "g.png", testPNG(t, 2100, 100), ""), "bad_image", false)  // 21:1
	if n := s.Calls()["sendPhoto"]; n != 0 {
		t.Errorf("%d sendPhoto calls for pictures refused before", n)
	}
	if err := c.PostImage(ctx, ref, "g.png", testPNG(t, 2000, 100), ""); err != nil { // 20:1 is allowed
		t.Errorf("20:1: %v", err)
	}

	// Refused by Telegram.
	wantCode(t, c.PostImage(ctx, "-1009/1", "g.png", pic, ""), "chat_not_found", false)
	wantCode(t, c.PostImage(ctx, chat+"/99", "g.png", pic, ""), "message_not_found", false)
	if !s.Delete(ref) {
		t.Fatal("no card to delete")
	}
	wantCode(t, c.PostImage(ctx, ref, "g.png", pic, "x"), "message_not_found", false)
	s.Fail("sendPhoto", 1, 400, "Bad Request: message caption is too long")
	wantCode(t, c.PostImage(ctx, ref, "g.png", pic, "x"), "caption_too_long", false)
	s.Fail("sendPhoto", 1, 400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
	wantCode(t, c.PostImage(ctx, ref, "g.png", pic, "x"), "bad_image", false)
	s.Fail("sendPhoto", 1, 413, "Request Entity Too Large")
	wantCode(t, c.PostImage(ctx, ref, "g.png", pic, "x"), "too_large", false)
	s.Fail("sendPhoto", 1, 502, "Bad Gateway")
	wantCode(t, c.PostImage(ctx, ref, "g.png", pic, "x"), "http_502", true)
	s.Fail("sendPhoto", 1, 429, "Too Many Requests: retry after 7")
	if e := wantCode(t, c.PostImage(ctx, ref, "g.png", pic, "x"), "rate_limited", true); e.RetryAfter().Seconds() != 7 {
		t.Errorf("retry after %v", e.RetryAfter())
	}
	if len(s.Photos(chat)) != 1 {
		t.Errorf("photos %d", len(s.Photos(chat)))
	}
	noViolations(t, s)
}

// A photo is a message to the chat: it counts in the chat's flood limit.
func TestPostImageRateLimited(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{PerChat: rate.Every(3e9 * 60), PerChatBurst: 1})
	defer s.Close()
	c := newClient(t, s)
	ref := imageCard(t, c) // takes the chat's one message
	e := wantCode(t, c.PostImage(context.Background(), ref, "g.png", testPNG(t, 20, 10), "x"), "rate_limited", true)
	if e.RetryAfter() <= 0 {
		t.Errorf("retry after %v", e.RetryAfter())
	}
	if s.RateLimited() != 1 || len(s.Photos(chat)) != 0 {
		t.Errorf("rate limited %d, photos %d", s.RateLimited(), len(s.Photos(chat)))
	}
}

// imagePoster is the method bot/ declares for graphs on cards: the three
// chat clients implement it alike.
type imagePoster interface {
	PostImage(ctx context.Context, ref, name string, png []byte, caption string) error
}

var _ imagePoster = (*Client)(nil)

// BenchmarkCaptionHTML: the worst case, a caption far over the limit
// and full of escapes, where the budget is searched for.
func BenchmarkCaptionHTML(b *testing.B) {
	long := strings.Repeat("p99 <latency> & @oncall 😀 ", 200)
	for b.Loop() {
		CaptionHTML(long)
	}
}
