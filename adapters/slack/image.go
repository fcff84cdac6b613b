package slack

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// MaxImageBytes bounds the picture PostImage sends: Slack takes files up
// to 1 GB, a graph is a few hundred KB; more is a mistake worth an error.
const MaxImageBytes = 50 << 20

// PostImage posts png, a PNG picture named name, into the thread of the
// card ref, with caption as its comment (escaped for mrkdwn like a
// mention's text, within MaxReplyLen). It takes Slack's external upload
// flow (files.upload is retired): files.getUploadURLExternal (filename,
// length) answers an upload URL and a file ID; the bytes are POSTed to the
// URL (op "upload_url"); files.completeUploadExternal shares the file into
// the card's channel under its ts (thread_ts) with initial_comment. The
// token needs files:write (BotScopes). The upload URL is used only when it
// is an https Slack URL or on the API URL's host (as slack-go allows,
// since the upload carries the token): anything else is "bad_response".
// A card that is gone is "message_not_found" (thread_not_found); a
// picture that is empty or over MaxImageBytes, "bad_image" before any
// call. A failure after the upload leaves an unshared file in Slack; a
// retry starts again with a new upload.
func (c *Client) PostImage(ctx context.Context, ref, name string, png []byte, caption string) error {
	const op = "files.completeUploadExternal"
	channel, ts, err := ParseRef(ref)
	if err != nil {
		return badRef(op, ref)
	}
	switch {
	case len(png) == 0:
		return &Error{Op: "files.getUploadURLExternal", Code: "bad_image", Err: errors.New("the picture is empty")}
	case len(png) > MaxImageBytes:
		return &Error{Op: "files.getUploadURLExternal", Code: "bad_image", Err: errors.New("the picture is larger than 50 MiB")}
	}
	name = fileName(name)
	u, err := c.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: name, FileSize: len(png)})
	if err != nil {
		return c.wrap(ctx, "files.getUploadURLExternal", err)
	}
	if u.FileID == "" || !c.mayUploadTo(u.UploadURL) {
		return &Error{Op: "files.getUploadURLExternal", Status: http.StatusOK, Code: "bad_response",
			Err: errors.New("no file ID, or an upload URL that is neither an https Slack URL nor on the API's host")}
	}
	if err := c.api.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(png), Filename: name}); err != nil {
		return c.wrap(ctx, "upload_url", err)
	}
	_, err = c.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
		Files:           []slack.FileSummary{{ID: u.FileID, Title: name}},
		Channel:         channel,
		ThreadTimestamp: ts,
		InitialComment:  escapeFit(caption, MaxReplyLen),
	})
	if err != nil {
		return c.wrap(ctx, op, err)
	}
	return nil
}

// mayUploadTo reports whether raw is an upload URL slack-go will send the
// token to: https on slack.com or slack-gov.com (or a subdomain), or the
// API URL's scheme and host.
func (c *Client) mayUploadTo(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "https" {
		for _, d := range []string{"slack.com", "slack-gov.com"} {
			if host == d || strings.HasSuffix(host, "."+d) {
				return true
			}
		}
	}
	return u.Scheme == c.apiURL.Scheme && strings.EqualFold(u.Host, c.apiURL.Host)
}

// fileName is name made safe as an upload's file name: no path, no
// control characters, at most 255 bytes; "graph.png" when nothing is left.
func fileName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		return "graph.png"
	}
	return name
}
