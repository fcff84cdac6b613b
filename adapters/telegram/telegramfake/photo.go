package telegramfake

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/jpeg" // sendPhoto takes JPEG too
	_ "image/png"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of sendPhoto, as the Bot API documents them.
const (
	MaxPhoto          = 10 << 20 // bytes of an uploaded photo
	MaxPhotoSides     = 10000    // width + height
	MaxPhotoRatio     = 20       // the longer side over the shorter
	MaxMultipartBytes = 50 << 20 // bytes of a multipart request (the bots' upload limit)
)

// Photo is a photo accepted by sendPhoto.
type Photo struct {
	ChatID      int64
	MessageID   int
	ReplyTo     int    // the message it replies to (0: none, or one that is gone and allow_sending_without_reply was set)
	FileName    string // the uploaded file's name
	Bytes       []byte // the file as uploaded
	Width       int
	Height      int
	Caption     string // as shown
	CaptionHTML string // as sent
	ParseMode   string
}

// Photos returns the photos sent to chat dest (a decimal chat id), in
// order.
func (s *Server) Photos(dest string) []Photo {
	chat, err := strconv.ParseInt(dest, 10, 64)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Photo
	for _, p := range s.photos {
		if p.ChatID == chat {
			p.Bytes = append([]byte(nil), p.Bytes...)
			out = append(out, p)
		}
	}
	return out
}

// Delete deletes the message ref ("chatID/messageID") as a chat member
// would: it no longer is among Messages, and a reply to it is answered
// "message to be replied not found" (unless allow_sending_without_reply),
// an edit "message to edit not found". It reports whether the message
// existed.
func (s *Server) Delete(ref string) bool {
	c, id, ok := strings.Cut(ref, "/")
	chat, err1 := strconv.ParseInt(c, 10, 64)
	n, err2 := strconv.Atoi(id)
	if !ok || err1 != nil || err2 != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byID[msgKey{chat, n}]
	if m == nil {
		return false
	}
	delete(s.byID, msgKey{chat, n})
	list := s.order[chat]
	for i, o := range list {
		if o == m {
			s.order[chat] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if m.root != nil {
		for i, r := range m.root.replies {
			if r == m {
				m.root.replies = append(m.root.replies[:i:i], m.root.replies[i+1:]...)
				break
			}
		}
	}
	return true
}

// replyTarget reads reply_parameters (Bot API 7.0) or the older
// reply_to_message_id and allow_sending_without_reply: the message id
// replied to (0: none) and whether a missing one is allowed.
func replyTarget(params map[string]string) (int, bool, *apiError) {
	if raw := params["reply_parameters"]; raw != "" {
		var rp struct {
			MessageID                *int  `json:"message_id"`
			AllowSendingWithoutReply *bool `json:"allow_sending_without_reply"`
		}
		if err := json.Unmarshal([]byte(raw), &rp); err != nil || rp.MessageID == nil {
			return 0, false, badRequest("can't parse reply parameters JSON object", true)
		}
		allow := rp.AllowSendingWithoutReply != nil && *rp.AllowSendingWithoutReply
		return *rp.MessageID, allow, nil
	}
	v := params["reply_to_message_id"]
	if v == "" {
		return 0, false, nil
	}
	id, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, badRequest("field \"reply_to_message_id\" must be of type Integer", true)
	}
	return id, boolParam(params["allow_sending_without_reply"]), nil
}

// caption parses a media caption like Telegram: parse_mode, at most 100
// entities, MaxCaption units as shown.
func caption(params map[string]string) (shown string, err *apiError) {
	html, mode := params["caption"], params["parse_mode"]
	switch strings.ToLower(mode) {
	case "html":
		s, ents, perr := parseHTML(html)
		if perr != nil {
			return "", badRequest("can't parse entities: "+perr.Error(), true)
		}
		if len(ents) > 100 {
			return "", badRequest("too many entities", true)
		}
		shown = s
	case "":
		shown = html
	default:
		return "", badRequest("unsupported parse_mode", true)
	}
	if utf16Len(shown) > MaxCaption {
		return "", badRequest("message caption is too long", true)
	}
	return shown, nil
}

// sendPhoto takes an uploaded photo (file ids and URLs are not faked) as
// Telegram does: at most MaxPhoto bytes of an image it can decode (PNG or
// JPEG here), width + height at most MaxPhotoSides, sides at most
// MaxPhotoRatio to one, a caption of at most MaxCaption units as shown,
// a reply target that exists (or allow_sending_without_reply), within
// the chat's rate limits (a photo is a message); s.mu is held.
func (s *Server) sendPhoto(params map[string]string, files map[string]upload) (any, *apiError) {
	chat, err := s.chatOf(params)
	if err != nil {
		return nil, err
	}
	f, ok := files["photo"]
	if !ok {
		if params["photo"] != "" {
			return nil, badRequest("wrong file identifier/HTTP URL specified", false)
		}
		return nil, badRequest("there is no photo in the request", true)
	}
	if len(f.data) == 0 {
		return nil, badRequest("file must be non-empty", true)
	}
	if len(f.data) > MaxPhoto {
		return nil, badRequest("PHOTO_SAVE_FILE_INVALID", true)
	}
	if !utf8.ValidString(f.name) {
		return nil, badRequest("file name must be encoded in UTF-8", true)
	}
	cfg, _, derr := image.DecodeConfig(bytes.NewReader(f.data))
	if derr != nil {
		return nil, badRequest("IMAGE_PROCESS_FAILED", true)
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 || w+h > MaxPhotoSides || max(w, h) > MaxPhotoRatio*min(w, h) {
		return nil, badRequest("PHOTO_INVALID_DIMENSIONS", true)
	}
	shown, err := caption(params)
	if err != nil {
		return nil, err
	}
	replyTo, allowMissing, err := replyTarget(params)
	if err != nil {
		return nil, err
	}
	if replyTo != 0 && s.byID[msgKey{chat, replyTo}] == nil {
		if !allowMissing {
			return nil, badRequest("message to be replied not found", false)
		}
		replyTo = 0
	}
	if err := s.allow(chat); err != nil {
		return nil, err
	}
	s.nextID[chat]++
	p := Photo{ChatID: chat, MessageID: s.nextID[chat], ReplyTo: replyTo, FileName: f.name,
		Bytes: append([]byte(nil), f.data...), Width: w, Height: h,
		Caption: shown, CaptionHTML: params["caption"], ParseMode: params["parse_mode"]}
	s.photos = append(s.photos, p)
	// Telegram answers the sizes it made; the fake, the one it got.
	id := "photo" + strconv.FormatInt(chat, 10) + "_" + strconv.Itoa(p.MessageID)
	out := map[string]any{
		"message_id": p.MessageID,
		"from":       map[string]any{"id": 123456, "is_bot": true, "first_name": "klaxon fake", "username": "klaxon_fake_bot"},
		"chat":       map[string]any{"id": chat, "type": "supergroup"},
		"date":       s.now(),
		"photo": []map[string]any{{"file_id": id, "file_unique_id": "u" + id, "width": w, "height": h,
			"file_size": len(f.data)}},
	}
	if shown != "" {
		out["caption"] = shown
	}
	if replyTo != 0 {
		out["reply_to_message"] = s.byID[msgKey{chat, replyTo}].result(false)
	}
	return out, nil
}
