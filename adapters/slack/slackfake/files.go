package slackfake

// Files: the external upload flow that replaced files.upload —
// files.getUploadURLExternal, a POST of the bytes to the upload URL it
// answers, files.completeUploadExternal — and the retired files.upload.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// uploadPath starts the path of the upload URLs the fake hands out.
const uploadPath = "/upload/v1/"

// MaxFileBytes is the largest file Slack takes (1 GB).
const MaxFileBytes = 1 << 30

// MaxFilesPerComplete is how many files one files.completeUploadExternal
// may share (Slack's limit, as documented for the files argument).
const MaxFilesPerComplete = 10

// FilesScope is the scope the files methods need.
const FilesScope = "files:write"

// Image is a file shared into a channel by files.completeUploadExternal.
type Image struct {
	FileID   string
	Channel  string
	ThreadTS string // the thread's parent ts ("" when shared to the channel)
	Parent   string // the parent's ref "CHANNEL/TS" ("" when none)
	TS       string // the ts of the message that shares it
	Name     string // filename given to files.getUploadURLExternal
	Title    string // the title given to files.completeUploadExternal
	Caption  string // initial_comment
	Bytes    []byte // what was posted to the upload URL
}

// upload is a file between files.getUploadURLExternal and its completion.
type upload struct {
	id, key   string
	name      string
	length    int
	data      []byte
	uploaded  bool
	completed bool
}

// Images returns the files shared into channel dest, in the order shared,
// leaving out those whose message or thread was deleted.
func (s *Server) Images(dest string) []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Image
	for _, im := range s.images {
		if im.Channel != dest || s.byRef[im.Channel+"/"+im.TS] == nil {
			continue
		}
		im.Bytes = append([]byte(nil), im.Bytes...)
		out = append(out, im)
	}
	return out
}

// hasScope reports whether the token holds scope (any, when
// Options.Scopes is empty).
func (s *Server) hasScope(scope string) bool {
	if len(s.opts.Scopes) == 0 {
		return true
	}
	for _, sc := range s.opts.Scopes {
		if sc == scope {
			return true
		}
	}
	return false
}

// missingScope answers Slack's missing_scope error.
func (s *Server) missingScope(w http.ResponseWriter, needed string) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "missing_scope", "needed": needed,
		"provided": strings.Join(s.opts.Scopes, ",")})
}

// filesLimited takes a token of method's Tier limiter (Options.FilesPerMinute),
// or answers 429; s.mu is held.
func (s *Server) filesLimited(w http.ResponseWriter, method string) bool {
	if s.opts.FilesPerMinute <= 0 {
		return false
	}
	lim := s.fileLim[method]
	if lim == nil {
		b := s.opts.FilesBurst
		if b <= 0 {
			b = s.opts.FilesPerMinute
		}
		lim = rate.NewLimiter(rate.Limit(float64(s.opts.FilesPerMinute)/60), b)
		s.fileLim[method] = lim
	}
	return s.limited(w, lim)
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// getUploadURL answers files.getUploadURLExternal: filename and a length
// of 1 byte to MaxFileBytes are required (invalid_arguments). The
// upload URL is on the fake itself and good for this file only.
func (s *Server) getUploadURL(w http.ResponseWriter, p params) {
	const method = "files.getUploadURLExternal"
	if !s.hasScope(FilesScope) {
		s.missingScope(w, FilesScope)
		return
	}
	if s.filesLimited(w, method) {
		return
	}
	name := strings.TrimSpace(p["filename"])
	n, err := strconv.Atoi(p["length"])
	if name == "" || err != nil || n <= 0 {
		s.violate(method, "", fmt.Sprintf("filename %q and length %q: both required, length a positive integer", p["filename"], p["length"]))
		fail(w, "invalid_arguments")
		return
	}
	if n > MaxFileBytes {
		s.violate(method, "", fmt.Sprintf("length %d > %d", n, MaxFileBytes))
		fail(w, "file_size_too_large")
		return
	}
	s.nextFile++
	u := &upload{id: fmt.Sprintf("F0FAKE%06d", s.nextFile), key: newKey(), name: name, length: n}
	s.uploads[u.id] = u
	s.uploadKeys[u.key] = u
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "upload_url": s.srv.URL + uploadPath + u.key, "file_id": u.id})
}

// uploadBytes takes a POST to an upload URL: the bytes raw or as the
// first file of a multipart form, exactly the length declared, once.
// Slack's upload server answers 200 "OK - <length>"; the fake answers
// 404 for a URL it did not hand out (or one already used) and 400 for a
// length that differs. Calls counts these as "upload_url". The URL is
// the authorization: no token is needed. Fail("upload_url", …) makes it
// answer the status with the code as plain text.
func (s *Server) uploadBytes(w http.ResponseWriter, r *http.Request) {
	s.Count("upload_url")
	if f, ok := s.TakeFailure("upload_url"); ok {
		if f.Status == http.StatusTooManyRequests {
			s.CountRateLimited()
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, f.Code, f.Status)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, uploadPath)
	s.mu.Lock()
	u := s.uploadKeys[key]
	used, length := u == nil || u.uploaded, 0
	if u != nil {
		length = u.length
	}
	s.mu.Unlock()
	if used {
		s.violate("upload_url", "", "a post to an upload URL that was not handed out or was used already")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	limit := int64(length) + 1
	var data []byte
	var err error
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		mr, merr := r.MultipartReader()
		if merr != nil {
			err = merr
		}
		for err == nil {
			part, perr := mr.NextPart()
			if perr != nil {
				err = fmt.Errorf("no file part: %w", perr)
				break
			}
			if part.FileName() == "" {
				continue
			}
			data, err = io.ReadAll(io.LimitReader(part, limit))
			break
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(r.Body, limit))
	}
	if err != nil {
		s.violate("upload_url", "", "unreadable upload: "+err.Error())
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if len(data) != length {
		got := strconv.Itoa(len(data))
		if len(data) > length {
			got = "more than " + strconv.Itoa(length)
		}
		s.violate("upload_url", "", fmt.Sprintf("%s bytes posted for a file of length %d", got, length))
		http.Error(w, "length mismatch", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if u.uploaded {
		s.mu.Unlock()
		s.violate("upload_url", "", "two posts to one upload URL")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	u.data, u.uploaded = data, true
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "OK - %d", len(data))
}

// completeUpload answers files.completeUploadExternal: files a JSON array
// of 1 to MaxFilesPerComplete {id, title} naming uploaded files not yet
// completed (file_not_found otherwise); with channel_id, a channel that
// exists (channel_not_found) and the bot is in (not_in_channel), and a
// thread_ts that is a message there (thread_not_found; a reply's ts
// threads under its parent). Sharing into a channel is a post there: it
// counts in the channel's PerChannel limit, and its initial_comment is
// checked like a message's text. Without channel_id the files stay
// private: completed, shared nowhere.
func (s *Server) completeUpload(w http.ResponseWriter, p params) {
	const method = "files.completeUploadExternal"
	if !s.hasScope(FilesScope) {
		s.missingScope(w, FilesScope)
		return
	}
	if s.filesLimited(w, method) {
		return
	}
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p["files"]), &files); err != nil || len(files) == 0 || len(files) > MaxFilesPerComplete {
		s.violate(method, "", "files is not a JSON array of 1 to 10 {id, title}: "+truncate(p["files"], 200))
		fail(w, "invalid_arguments")
		return
	}
	seen := map[string]bool{}
	for _, f := range files {
		u := s.uploads[f.ID]
		switch {
		case u == nil:
			s.violate(method, "", "file "+f.ID+" was never given an upload URL")
			fail(w, "file_not_found")
			return
		case !u.uploaded:
			s.violate(method, "", "file "+f.ID+" was not uploaded to its URL")
			fail(w, "file_not_found")
			return
		case u.completed || seen[f.ID]:
			s.violate(method, "", "file "+f.ID+" completed twice")
			fail(w, "file_not_found")
			return
		}
		seen[f.ID] = true
	}
	ch := p["channel_id"]
	if ch == "" && p["channels"] != "" {
		ch = strings.Split(p["channels"], ",")[0]
	}
	var parent *msg
	if ch != "" {
		if !s.channelExists(ch) {
			fail(w, "channel_not_found")
			return
		}
		if s.notIn[ch] {
			fail(w, "not_in_channel")
			return
		}
		if tts := p["thread_ts"]; tts != "" {
			parent = s.byRef[ch+"/"+tts]
			if parent == nil {
				fail(w, "thread_not_found")
				return
			}
			if parent.parent != nil {
				parent = parent.parent
			}
		}
		if s.postLimited(w, ch) {
			return
		}
		if n := units(p["initial_comment"]); n > MaxTextLen {
			s.violate(method, ch, fmt.Sprintf("initial_comment is %d characters (> %d)", n, MaxTextLen))
			fail(w, "msg_too_long")
			return
		}
	}
	out := make([]map[string]any, 0, len(files))
	var m *msg
	if ch != "" {
		m = &msg{channel: ch, ts: s.nextTS(), text: p["initial_comment"], parent: parent}
		s.byRef[ch+"/"+m.ts] = m
		if parent != nil {
			parent.replies = append(parent.replies, m)
		} else {
			s.top[ch] = append(s.top[ch], m)
		}
	}
	for _, f := range files {
		u := s.uploads[f.ID]
		u.completed = true
		delete(s.uploadKeys, u.key)
		title := f.Title
		if title == "" {
			title = u.name
		}
		out = append(out, map[string]any{"id": u.id, "title": title})
		if m == nil {
			continue
		}
		im := Image{FileID: u.id, Channel: ch, TS: m.ts, Name: u.name, Title: title, Caption: m.text, Bytes: u.data}
		if parent != nil {
			im.ThreadTS, im.Parent = parent.ts, ch+"/"+parent.ts
		}
		s.images = append(s.images, im)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "files": out})
}
