package mattermostfake

// Files: POST /api/v4/files (UploadFile) and the file_ids of a post.

import (
	"bytes"
	"errors"
	"image"
	_ "image/jpeg" // the server reads the size of JPEG and PNG pictures
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// file is an uploaded file.
type file struct {
	info model.FileInfo
	data []byte
}

// Image is a picture attached to a post, as Images lists them.
type Image struct {
	FileID   string
	PostID   string // the post it is attached to
	RootID   string // the thread's root (the card), "" when the post is top-level
	Channel  string
	Name     string // the file name as uploaded
	MimeType string
	Width    int
	Height   int
	Bytes    []byte // the file as uploaded
	Caption  string // the post's message
}

// Images returns the files attached to posts in channel dest, in the order
// they were attached, with the bytes that were uploaded.
func (s *Server) Images(dest string) []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Image
	for _, id := range s.attached {
		f := s.files[id]
		if f.info.ChannelId != dest {
			continue
		}
		p := s.posts[f.info.PostId]
		if p.p.DeleteAt != 0 {
			continue
		}
		out = append(out, Image{FileID: id, PostID: f.info.PostId, RootID: p.p.RootId, Channel: dest,
			Name: f.info.Name, MimeType: f.info.MimeType, Width: f.info.Width, Height: f.info.Height,
			Bytes: append([]byte(nil), f.data...), Caption: p.p.Message})
	}
	return out
}

// Uploads returns how many files were uploaded, attached or not.
func (s *Server) Uploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files)
}

// uploadFile answers POST /api/v4/files as the server's multipart upload
// does: file uploads enabled (FileSettings.EnableFileAttachments, else 501
// api.file.attachments.disabled.app_error); a request and each file of at
// most FileSettings.MaxFileSize bytes (default 100 MiB; 413
// api.file.upload_file.too_large_detailed.app_error); the parts read in
// order, channel_id before the first file (the server streams the parts
// and must know the channel to store a file: 400
// api.context.invalid_body_param.app_error otherwise); a channel the user
// may upload to (403 api.context.permissions.app_error); at least one
// file, in parts named "files" (400
// api.file.upload_file.incorrect_number_of_files.app_error). A body that
// is not multipart is refused (the server's other way, a raw body with
// channel_id and filename in the query, is not faked).
func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request, uid string) {
	s.mu.Lock()
	enabled := s.admin.cfg.FileSettings.EnableFileAttachments == nil || *s.admin.cfg.FileSettings.EnableFileAttachments
	limit := *s.admin.cfg.FileSettings.MaxFileSize
	s.mu.Unlock()
	if !enabled {
		writeErr(w, model.NewAppError("uploadFile", "api.file.attachments.disabled.app_error", nil, "", http.StatusNotImplemented))
		return
	}
	tooLarge := func(n int64) {
		s.reject(w, "UploadFile: "+strconv.FormatInt(n, 10)+" bytes > MaxFileSize "+strconv.FormatInt(limit, 10),
			model.NewAppError("uploadFile", "api.file.upload_file.too_large_detailed.app_error",
				map[string]any{"Length": n, "Limit": limit}, "", http.StatusRequestEntityTooLarge))
	}
	if r.ContentLength > limit {
		tooLarge(r.ContentLength)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.reject(w, "UploadFile: not a multipart body: "+err.Error(),
			model.NewAppError("uploadFile", "api.file.upload_file.read_request.app_error", nil, err.Error(), http.StatusBadRequest))
		return
	}
	var channel string
	var infos []*model.FileInfo
	var made []*file
	var read int64
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.reject(w, "UploadFile: a broken multipart body: "+err.Error(),
				model.NewAppError("uploadFile", "api.file.upload_file.read_request.app_error", nil, err.Error(), http.StatusBadRequest))
			return
		}
		name := part.FormName()
		if part.FileName() == "" {
			v, _ := io.ReadAll(io.LimitReader(part, 1024))
			if name == "channel_id" {
				channel = string(v)
			}
			continue
		}
		if name != "files" {
			continue
		}
		if channel == "" {
			s.reject(w, "UploadFile: a file before channel_id (the server reads the parts in order)",
				model.NewAppError("Context", "api.context.invalid_body_param.app_error", map[string]any{"Name": "channel_id"}, "", http.StatusBadRequest))
			return
		}
		if !model.IsValidId(channel) {
			s.reject(w, "UploadFile: channel_id "+channel+" is not an id",
				model.NewAppError("Context", "api.context.invalid_body_param.app_error", map[string]any{"Name": "channel_id"}, "", http.StatusBadRequest))
			return
		}
		if !s.channelAllowed(channel) {
			writeErr(w, model.NewAppError("uploadFileStream", "api.context.permissions.app_error", nil,
				"userId="+uid+", permission=upload_file", http.StatusForbidden))
			return
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			s.reject(w, "UploadFile: a broken file part: "+err.Error(),
				model.NewAppError("uploadFile", "api.file.upload_file.read_request.app_error", nil, err.Error(), http.StatusBadRequest))
			return
		}
		read += int64(len(data))
		if int64(len(data)) > limit || read > limit {
			tooLarge(read)
			return
		}
		fname := path.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
		ext := strings.TrimPrefix(strings.ToLower(path.Ext(fname)), ".")
		mt := mime.TypeByExtension("." + ext)
		if mt == "" {
			mt = http.DetectContentType(data)
		}
		f := &file{data: data, info: model.FileInfo{Id: model.NewId(), CreatorId: uid, ChannelId: channel,
			Name: fname, Extension: ext, Size: int64(len(data)), MimeType: mt}}
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
			f.info.Width, f.info.Height, f.info.HasPreviewImage = cfg.Width, cfg.Height, true
		}
		made = append(made, f)
	}
	if len(made) == 0 {
		s.reject(w, "UploadFile: no file part named \"files\"",
			model.NewAppError("uploadFile", "api.file.upload_file.incorrect_number_of_files.app_error", nil, "", http.StatusBadRequest))
		return
	}
	s.mu.Lock()
	now := s.now()
	for _, f := range made {
		f.info.CreateAt, f.info.UpdateAt = now, now
		s.files[f.info.Id] = f
		info := f.info
		infos = append(infos, &info)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, &model.FileUploadResponse{FileInfos: infos, ClientIds: []string{}})
}

// attachFiles keeps the file ids of p the server would attach — files the
// poster uploaded to p's channel and not yet attached to a post — and
// drops the others, as the server does (it logs them; the fake records a
// violation). s.mu is held.
func (s *Server) attachFiles(p *model.Post) {
	if len(p.FileIds) == 0 {
		return
	}
	var keep model.StringArray
	for _, id := range p.FileIds {
		f := s.files[id]
		switch {
		case f == nil:
			s.Violate("CreatePost: file " + id + " does not exist: dropped")
		case f.info.CreatorId != p.UserId:
			s.Violate("CreatePost: file " + id + " was uploaded by another user: dropped")
		case f.info.ChannelId != p.ChannelId:
			s.Violate("CreatePost: file " + id + " was uploaded to channel " + f.info.ChannelId + ", not " + p.ChannelId + ": dropped")
		case f.info.PostId != "":
			s.Violate("CreatePost: file " + id + " is attached to post " + f.info.PostId + " already: dropped")
		default:
			f.info.PostId = p.Id
			keep = append(keep, id)
			s.attached = append(s.attached, id)
		}
	}
	p.FileIds = keep
}
