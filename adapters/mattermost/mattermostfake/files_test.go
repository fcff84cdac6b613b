package mattermostfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUploadAndAttach(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := client(s, s.Token())
	ctx := context.Background()
	root, _, err := c.CreatePost(ctx, card("card"))
	if err != nil {
		t.Fatal(err)
	}
	pic := pngOf(t, 300, 100)
	// Mattermost's own client uploads as the fake expects.
	up, resp, err := c.UploadFile(ctx, pic, chA, "g.png")
	if err != nil || resp.StatusCode != http.StatusCreated || len(up.FileInfos) != 1 {
		t.Fatalf("upload: %v %+v", err, up)
	}
	fi := up.FileInfos[0]
	if !model.IsValidId(fi.Id) || fi.Size != int64(len(pic)) || fi.MimeType != "image/png" || fi.Width != 300 || fi.Height != 100 || fi.CreatorId != mattermostfake.BotUserID {
		t.Errorf("file info %+v", fi)
	}
	p, _, err := c.CreatePost(ctx, &model.Post{ChannelId: chA, RootId: root.Id, Message: "graph", FileIds: []string{fi.Id}})
	if err != nil || len(p.FileIds) != 1 || p.FileIds[0] != fi.Id {
		t.Fatalf("post with the file: %v %+v", err, p)
	}
	imgs := s.Images(chA)
	if len(imgs) != 1 || !bytes.Equal(imgs[0].Bytes, pic) || imgs[0].RootID != root.Id || imgs[0].PostID != p.Id || imgs[0].Caption != "graph" {
		t.Errorf("images %+v", imgs)
	}

	// The server attaches a file once, in the channel it was uploaded to,
	// to its uploader's post; it drops other ids (and the fake records
	// them).
	upB, _, err := c.UploadFile(ctx, pic, chB, "b.png")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err = c.CreatePost(ctx, &model.Post{ChannelId: chA, RootId: root.Id, Message: "again",
		FileIds: []string{fi.Id, upB.FileInfos[0].Id, model.NewId()}})
	if err != nil || len(p.FileIds) != 0 {
		t.Fatalf("post with files it may not attach: %v %+v", err, p)
	}
	if v := s.Violations(); len(v) != 3 || !strings.Contains(v[0], "attached to post") || !strings.Contains(v[1], "uploaded to channel") || !strings.Contains(v[2], "does not exist") {
		t.Errorf("violations %q", v)
	}
	if n := len(s.Images(chA)); n != 1 {
		t.Errorf("%d images", n)
	}

	// At most 10 file ids a post (the post's file_ids ≤ 300 characters).
	var ids []string
	for range 11 {
		u, _, err := c.UploadFile(ctx, pic, chA, "g.png")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.FileInfos[0].Id)
	}
	_, resp, err = c.CreatePost(ctx, &model.Post{ChannelId: chA, Message: "eleven", FileIds: ids})
	appErr(t, err, http.StatusBadRequest, "model.post.is_valid.file_ids.app_error", resp)
	if _, _, err := c.CreatePost(ctx, &model.Post{ChannelId: chA, Message: "ten", FileIds: ids[:10]}); err != nil {
		t.Errorf("ten files: %v", err)
	}
	if n := len(s.Images(chA)); n != 11 {
		t.Errorf("%d images", n)
	}
}

func rawUpload(t *testing.T, s *mattermostfake.Server, fields [][2]string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, f := range fields {
		if name, ok := strings.CutPrefix(f[0], "file:"); ok {
			part, _ := w.CreateFormFile(name, "g.png")
			part.Write([]byte(f[1]))
		} else {
			w.WriteField(f[0], f[1])
		}
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/v4/files", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ae model.AppError
	_ = jsonDecode(resp, &ae)
	return resp.StatusCode, ae.Id
}

func TestUploadRefused(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA},
		Config: func(c *model.Config) { c.FileSettings.MaxFileSize = model.NewPointer(int64(1000)) }})
	defer s.Close()
	for _, c := range []struct {
		name   string
		fields [][2]string
		status int
		id     string
	}{
		{"file before channel_id", [][2]string{{"file:files", "x"}, {"channel_id", chA}}, 400, "api.context.invalid_body_param.app_error"},
		{"no file", [][2]string{{"channel_id", chA}}, 400, "api.file.upload_file.incorrect_number_of_files.app_error"},
		{"file in another part", [][2]string{{"channel_id", chA}, {"file:file", "x"}}, 400, "api.file.upload_file.incorrect_number_of_files.app_error"},
		{"channel not the bot's", [][2]string{{"channel_id", chB}, {"file:files", "x"}}, 403, "api.context.permissions.app_error"},
		{"too large", [][2]string{{"channel_id", chA}, {"file:files", strings.Repeat("x", 1001)}}, 413, "api.file.upload_file.too_large_detailed.app_error"},
		{"fits", [][2]string{{"channel_id", chA}, {"file:files", strings.Repeat("x", 500)}}, 201, ""},
	} {
		if st, id := rawUpload(t, s, c.fields); st != c.status || id != c.id {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, id, c.status, c.id)
		}
	}
	// Not multipart.
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/v4/files?channel_id="+chA+"&filename=g.png", strings.NewReader("raw"))
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("raw body: %d", resp.StatusCode)
	}
	if v := s.Violations(); len(v) != 5 {
		t.Errorf("violations %q", v)
	}

	off := mattermostfake.New(mattermostfake.Options{Config: func(c *model.Config) { c.FileSettings.EnableFileAttachments = model.NewPointer(false) }})
	defer off.Close()
	if st, id := rawUpload(t, off, [][2]string{{"channel_id", chA}, {"file:files", "x"}}); st != 501 || id != "api.file.attachments.disabled.app_error" {
		t.Errorf("attachments off: %d %s", st, id)
	}
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
