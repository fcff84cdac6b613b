package telegramfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sendPhoto(t *testing.T, s *Server, fields map[string]string, name string, data []byte) answer {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if name != "" {
		part, _ := w.CreateFormFile("photo", name)
		part.Write(data)
	}
	w.Close()
	resp, err := http.Post(fmt.Sprintf(s.URL(), s.Token(), "sendPhoto"), w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	a.Status = resp.StatusCode
	return a
}

func TestSendPhoto(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1001", "text": "card"}); !a.OK {
		t.Fatalf("sendMessage: %+v", a)
	}
	pic := pngOf(t, 300, 200)
	a := sendPhoto(t, s, map[string]string{"chat_id": "-1001", "caption": "<b>INC-1</b> p99", "parse_mode": "HTML",
		"reply_parameters": `{"message_id":1}`}, "g.png", pic)
	if !a.OK {
		t.Fatalf("sendPhoto: %+v", a)
	}
	var res struct {
		MessageID int `json:"message_id"`
		Photo     []struct {
			Width, Height int
		} `json:"photo"`
		Caption string `json:"caption"`
		Reply   *struct {
			MessageID int `json:"message_id"`
		} `json:"reply_to_message"`
	}
	if err := json.Unmarshal(a.Result, &res); err != nil || res.MessageID != 2 || len(res.Photo) != 1 || res.Photo[0].Width != 300 ||
		res.Caption != "INC-1 p99" || res.Reply == nil || res.Reply.MessageID != 1 {
		t.Errorf("result %s (%v)", a.Result, err)
	}
	ps := s.Photos("-1001")
	if len(ps) != 1 || !bytes.Equal(ps[0].Bytes, pic) || ps[0].ReplyTo != 1 || ps[0].Caption != "INC-1 p99" || ps[0].Height != 200 {
		t.Errorf("photos %+v", ps)
	}
	// A missing reply target is allowed only when asked.
	if a := sendPhoto(t, s, map[string]string{"chat_id": "-1001", "reply_to_message_id": "9", "allow_sending_without_reply": "true"}, "g.png", pic); !a.OK {
		t.Errorf("without reply: %+v", a)
	}
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001", "reply_to_message_id": "9"}, "g.png", pic), 400, "Bad Request: message to be replied not found")
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001", "reply_parameters": `{"message_id":9}`}, "g.png", pic), 400, "Bad Request: message to be replied not found")
	if !s.Delete("-1001/1") || s.Delete("-1001/1") {
		t.Error("Delete")
	}
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001", "reply_to_message_id": "1"}, "g.png", pic), 400, "Bad Request: message to be replied not found")

	// Violations.
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001"}, "", nil), 400, "Bad Request: there is no photo in the request")
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001"}, "g.png", nil), 400, "Bad Request: file must be non-empty")
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001"}, "g.png", []byte("not an image")), 400, "Bad Request: IMAGE_PROCESS_FAILED")
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001"}, "g.png", pngOf(t, 5001, 5000)), 400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001"}, "g.png", pngOf(t, 10, 201)), 400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
	big := append(pngOf(t, 10, 10), make([]byte, MaxPhoto)...) // a PNG with trailing bytes
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001"}, "g.png", big), 400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001", "caption": strings.Repeat("é", 1025)}, "g.png", pic), 400, "Bad Request: message caption is too long")
	// The limit counts the caption as shown: 1024 escaped "&" fit.
	if a := sendPhoto(t, s, map[string]string{"chat_id": "-1001", "caption": strings.Repeat("&amp;", 1024), "parse_mode": "HTML"}, "g.png", pic); !a.OK {
		t.Errorf("1024 escapes: %d %s", a.Status, a.Description)
	}
	wantError(t, sendPhoto(t, s, map[string]string{"chat_id": "-1001", "caption": "<b>x", "parse_mode": "HTML"}, "g.png", pic), 400, "Bad Request: can't parse entities")
	if v := s.Violations(); len(v) != 8 {
		t.Errorf("violations %q", v)
	}
	if n := len(s.Photos("-1001")); n != 3 {
		t.Errorf("%d photos", n)
	}
}
