package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Limits of a photo, as the Bot API documents sendPhoto's.
const (
	MaxPhotoBytes = 10 << 20 // bytes of the upload
	MaxPhotoSides = 10000    // width + height, pixels
	MaxPhotoRatio = 20       // the longer side over the shorter
)

// PostImage sends png, a PNG picture, as a photo replying to the card (ref
// from Post), named name, with caption as its caption: plain text escaped
// for parse mode HTML and cut to MaxCaption units as Telegram counts them
// (after entity parsing), ending in "…" when cut. A card that is gone is
// code "message_not_found" (the photo is not sent without it: a graph out
// of its thread says nothing). A picture Telegram would refuse — not a
// PNG, over MaxPhotoBytes, sides over MaxPhotoSides together or more than
// MaxPhotoRatio to one — is code "bad_image" before any call. Telegram's
// own refusals: "caption_too_long", "bad_image" (PHOTO_INVALID_DIMENSIONS,
// IMAGE_PROCESS_FAILED, PHOTO_SAVE_FILE_INVALID), "too_large" (413); the
// rest as for sendMessage. Op is "sendPhoto".
func (c *Client) PostImage(ctx context.Context, ref, name string, pngData []byte, caption string) error {
	const op = "sendPhoto"
	chat, msg, err := ParseRef(ref)
	if err != nil {
		return &Error{Op: op, Code: "bad_ref", Err: err}
	}
	if err := CheckPhoto(pngData); err != nil {
		return &Error{Op: op, Code: "bad_image", Err: err}
	}
	if name == "" {
		name = "graph.png"
	}
	cfg := tgbotapi.NewPhoto(chat, tgbotapi.FileBytes{Name: fileName(name), Bytes: pngData})
	if html := CaptionHTML(caption); html != "" {
		cfg.Caption = html
		cfg.ParseMode = tgbotapi.ModeHTML
	}
	cfg.ReplyToMessageID = msg
	cfg.AllowSendingWithoutReply = false
	return c.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Send(cfg)
		return err
	})
}

// CaptionHTML is the caption PostImage sends for text: escaped for parse
// mode HTML and neutralised like a card's text, on one line, at most
// MaxCaption UTF-16 units as Telegram counts a caption: after entity
// parsing ("&amp;" is one). The builder budgets the HTML as written, which
// would waste the caption's room on escapes, so the budget is searched
// for: the largest whose caption still shows within MaxCaption.
func CaptionHTML(text string) string {
	build := func(limit int) string {
		b := &builder{limit: limit}
		b.text(text, limit, 1, false)
		return string(b.buf)
	}
	best := build(MaxCaption) // as written within MaxCaption: shown within it too
	if shownLen(best) < MaxCaption-1 && !strings.HasSuffix(best, "…") {
		return best // all of it
	}
	// Each escape or word joiner adds at most 5 units as written: the
	// budget never needs to pass 6 × MaxCaption.
	lo, hi := MaxCaption, 6*MaxCaption
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if c := build(mid); shownLen(c) <= MaxCaption {
			lo, best = mid, c
		} else {
			hi = mid - 1
		}
	}
	return best
}

// CheckPhoto reports why Telegram would refuse data as a photo: not a PNG,
// more than MaxPhotoBytes, width + height over MaxPhotoSides or sides
// more than MaxPhotoRatio to one.
func CheckPhoto(data []byte) error {
	if len(data) == 0 {
		return errors.New("the picture is empty")
	}
	if len(data) > MaxPhotoBytes {
		return fmt.Errorf("the picture is %d bytes, more than Telegram's %d for a photo", len(data), MaxPhotoBytes)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("the picture is not a PNG: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 || w+h > MaxPhotoSides || max(w, h) > MaxPhotoRatio*min(w, h) {
		return fmt.Errorf("a photo of %d×%d pixels is beyond Telegram's limits (width + height ≤ %d, ratio ≤ %d)", w, h, MaxPhotoSides, MaxPhotoRatio)
	}
	return nil
}
