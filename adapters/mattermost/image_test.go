package mattermost_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y += 5 {
		for x := 0; x < w; x += 3 {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x * y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imageCard(t *testing.T, c *mattermost.Client) string {
	t.Helper()
	ref, err := c.Post(context.Background(), chA, cardOf(t, cardtest.Payments(), cardtest.T0))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func wantMM(t *testing.T, err error, code string, temp bool) *mattermost.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", code)
	}
	e := mmErr(t, err)
	if e.Code != code || e.Temp != temp || e.ErrorCode() != code || e.Retryable() != temp {
		t.Errorf("%v: code %q temp %v, want %q %v", err, e.Code, e.Temp, code, temp)
	}
	return e
}

func TestPostImage(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ref := imageCard(t, c)
	pic := testPNG(t, 640, 320)
	caption := "p99 latency @channel **5 s** <https://evil.example|click>\nsecond line"
	if err := c.PostImage(context.Background(), ref, "INC-42.png", pic, caption); err != nil {
		t.Fatal(err)
	}
	imgs := s.Images(chA)
	if len(imgs) != 1 {
		t.Fatalf("images %+v", imgs)
	}
	im := imgs[0]
	if !bytes.Equal(im.Bytes, pic) {
		t.Errorf("the uploaded bytes differ from the PNG (%d vs %d bytes)", len(im.Bytes), len(pic))
	}
	if im.RootID != ref || im.Name != "INC-42.png" || im.MimeType != "image/png" || im.Width != 640 || im.Height != 320 {
		t.Errorf("image %+v", im)
	}
	if strings.Contains(im.Caption, "@channel") || strings.Contains(im.Caption, "**5 s**") || strings.Contains(im.Caption, "\n") ||
		!strings.Contains(im.Caption, "p99 latency") {
		t.Errorf("caption %q: not escaped onto one line", im.Caption)
	}
	if ms := s.Messages(chA); len(ms) != 1 || len(ms[0].Replies) != 1 || ms[0].Replies[0] != im.Caption {
		t.Errorf("thread %+v", ms)
	}
	calls := s.Calls()
	if calls["GetPost"] != 1 || calls["UploadFile"] != 1 || calls["CreatePost"] != 2 {
		t.Errorf("calls %v", calls)
	}
	// An empty caption is a post with the file alone.
	if err := c.PostImage(context.Background(), ref, "../../etc/INC-42.png", pic, ""); err != nil {
		t.Fatal(err)
	}
	if imgs := s.Images(chA); len(imgs) != 2 || imgs[1].Caption != "" || imgs[1].Name != "INC-42.png" {
		t.Errorf("images %+v", imgs)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations %q", v)
	}
}

func TestPostImageRefusals(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA},
		Config: func(c *model.Config) { c.FileSettings.MaxFileSize = model.NewPointer(int64(20000)) }})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	ref := imageCard(t, c)
	pic := testPNG(t, 40, 20)

	wantMM(t, c.PostImage(ctx, "nonsense", "g.png", pic, ""), mattermost.CodeBadRef, false)
	wantMM(t, c.PostImage(ctx, ref, "g.png", nil, ""), mattermost.CodeBadImage, false)
	if n := s.Calls()["UploadFile"]; n != 0 {
		t.Errorf("%d uploads for pictures refused before", n)
	}
	// Over the server's MaxFileSize: 413, not retried.
	big := testPNG(t, 400, 400)
	if len(big) <= 20000 {
		t.Fatalf("the big picture is %d bytes", len(big))
	}
	wantMM(t, c.PostImage(ctx, ref, "g.png", big, ""), "api.file.upload_file.too_large_detailed.app_error", false)

	// Rate limits and server errors.
	s.Fail("UploadFile", 1, 429, "")
	if e := wantMM(t, c.PostImage(ctx, ref, "g.png", pic, ""), mattermost.CodeRateLimited, true); e.RetryAfter().Seconds() != 1 {
		t.Errorf("retry after %v", e.RetryAfter())
	}
	s.Fail("UploadFile", 1, 503, "")
	wantMM(t, c.PostImage(ctx, ref, "g.png", pic, ""), "fake.injected.app_error", true)
	s.Fail("CreatePost", 1, 500, "")
	wantMM(t, c.PostImage(ctx, ref, "g.png", pic, ""), "fake.injected.app_error", true)

	// The bot taken out of the channel may not upload there.
	s.RemoveChannel(chA)
	if e := wantMM(t, c.PostImage(ctx, ref, "g.png", pic, ""), "api.context.permissions.app_error", false); e.Op != "UploadFile" {
		t.Errorf("op %q", e.Op)
	}
	s.AddChannel(chA)

	// A card that is gone: no upload.
	ups := s.Uploads()
	s.Delete(ref)
	wantMM(t, c.PostImage(ctx, ref, "g.png", pic, ""), mattermost.CodeMessageNotFound, false)
	if s.Uploads() != ups {
		t.Errorf("uploaded for a card that is gone")
	}
	if n := len(s.Images(chA)); n != 0 {
		t.Errorf("%d images", n)
	}
}

// Uploads count toward the server's rate limit like any API call.
func TestPostImageRateLimited(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}, PerSecond: 1e-3, Burst: 2})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ref := imageCard(t, c) // CreatePost: 1 of 2
	e := wantMM(t, c.PostImage(context.Background(), ref, "g.png", testPNG(t, 10, 10), "x"), mattermost.CodeRateLimited, true)
	if e.Op != "UploadFile" || e.RetryAfter() <= 0 || s.RateLimited() != 1 {
		t.Errorf("op %q, retry after %v, %d 429s", e.Op, e.RetryAfter(), s.RateLimited())
	}
}

// imagePoster is the method bot/ declares for graphs on cards: the three
// chat clients implement it alike.
type imagePoster interface {
	PostImage(ctx context.Context, ref, name string, png []byte, caption string) error
}

var _ imagePoster = (*mattermost.Client)(nil)
