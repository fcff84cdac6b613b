package mattermost

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxFileBytes is Mattermost's default FileSettings.MaxFileSize (100 MiB):
// PostImage refuses a bigger picture without a call. A server may set it
// lower; its refusal is then the server's 413.
const MaxFileBytes = 100 << 20

// CodeBadImage is PostImage's error for a picture it will not send (empty,
// or over MaxFileBytes); CodeFileNotAttached, for a post the server made
// without the file (it drops file ids it will not attach instead of
// failing).
const (
	CodeBadImage        = "bad_image"
	CodeFileNotAttached = "file_not_attached"
)

// PostImage posts png, a PNG picture named name, as a thread reply under
// the card (ref as Post returns it) with caption as its message (plain
// text escaped like a card's, on one line, within MaxRunes). It reads the
// card (GetPost, as Reply does: a card that is gone is
// "message_not_found"), uploads the file to the card's channel
// (UploadFile: POST /api/v4/files) and posts the reply with its file id
// (CreatePost): three calls. A file that was uploaded but whose post
// failed stays unattached on the server (Mattermost cleans those up only
// if told to); a retry uploads it again.
func (c *Client) PostImage(ctx context.Context, ref, name string, png []byte, caption string) error {
	const op = "CreatePost"
	id, err := parseRef(op, ref)
	if err != nil {
		return err
	}
	switch {
	case len(png) == 0:
		return &Error{Op: "UploadFile", Code: CodeBadImage, Err: errors.New("the picture is empty")}
	case len(png) > MaxFileBytes:
		return &Error{Op: "UploadFile", Code: CodeBadImage, Err: errors.New("the picture is larger than Mattermost's default file size limit (100 MiB)")}
	}
	root, err := c.root(ctx, id)
	if err != nil {
		return err
	}
	rootID := root.Id
	if root.RootId != "" {
		rootID = root.RootId
	}
	up, resp, err := c.api.UploadFile(ctx, root.ChannelId, fileName(name), png)
	if err != nil {
		return wrap(ctx, "UploadFile", resp, err)
	}
	if up == nil || len(up.FileInfos) != 1 || up.FileInfos[0] == nil || !validID(up.FileInfos[0].Id) {
		return &Error{Op: "UploadFile", Status: status(resp), Code: CodeBadResponse, Err: errors.New("no file id in the answer")}
	}
	fileID := up.FileInfos[0].Id
	msg, _, _ := escape(caption, md, limit{MaxRunes, MaxPropsBytes})
	p := &Post{ChannelId: root.ChannelId, RootId: rootID, Message: msg, FileIds: []string{fileID}}
	created, resp, err := c.api.CreatePost(ctx, p)
	if err != nil {
		e := wrap(ctx, op, resp, err)
		if e.Code == "api.post.create_post.root_id.app_error" {
			e.Code, e.Temp = CodeMessageNotFound, false
		}
		return e
	}
	if created == nil || !slices.Contains(created.FileIds, fileID) {
		return &Error{Op: op, Status: status(resp), Code: CodeFileNotAttached,
			Err: errors.New("the server made the post without the uploaded file")}
	}
	return nil
}

// fileName is name made safe as an upload's file name: no path, no
// control characters, at most 128 bytes; "graph.png" when nothing is left.
func fileName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '"' {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	for len(name) > 128 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		return "graph.png"
	}
	return name
}
