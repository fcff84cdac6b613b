package bot

import (
	"testing"
	"time"
)

func TestLimitsPaceAfterA429(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Telegram = &TelegramConfig{GlobalInterval: Duration(100 * time.Millisecond)}
	ls := newLimits(cfg)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	chats := []dest{{Telegram, "1"}, {Telegram, "2"}, {Telegram, "3"}, {Telegram, "4"}}
	ls.pause(chats[0], callPost, now.Add(time.Second))
	var last time.Time
	for i, d := range chats {
		until, ok := ls.take(d, callPost, now, 10*time.Second)
		if !ok {
			t.Fatalf("call %d refused", i)
		}
		if until.Before(now.Add(time.Second)) {
			t.Fatalf("call %d may go at %s, inside the 429's pause", i, until.Sub(now))
		}
		if i > 0 && until.Sub(last) < 100*time.Millisecond {
			t.Fatalf("calls %d and %d only %s apart after the pause: a burst", i-1, i, until.Sub(last))
		}
		last = until
	}
	// A wait beyond maxWait reserves nothing.
	if _, ok := ls.take(chats[0], callPost, now, 100*time.Millisecond); ok {
		t.Fatal("a long wait was accepted")
	}
	until, _ := ls.take(chats[1], callPost, now, 10*time.Second)
	if until.Sub(last) > 110*time.Millisecond {
		t.Fatalf("a refused reservation kept its slot: next call at +%s after the last", until.Sub(last))
	}
}

func TestLimitsRulesPerPlatform(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Slack = &SlackConfig{ChannelInterval: Duration(time.Second), UpdateInterval: Duration(time.Second)}
	ls := newLimits(cfg)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a, b := dest{Slack, "C1"}, dest{Slack, "C2"}
	if u, _ := ls.take(a, callPost, now, time.Minute); !u.Equal(now) {
		t.Fatalf("first post waits %s", u.Sub(now))
	}
	if u, _ := ls.take(b, callPost, now, time.Minute); !u.Equal(now) {
		t.Fatalf("another channel waits %s for the first", u.Sub(now))
	}
	if u, _ := ls.take(a, callReply, now, time.Minute); u.Sub(now) < time.Second {
		t.Fatalf("a reply to the same channel waits only %s", u.Sub(now))
	}
	if u, _ := ls.take(a, callUpdate, now, time.Minute); !u.Equal(now) {
		t.Fatalf("an edit waits %s for the channel's posts", u.Sub(now))
	}
	if u, _ := ls.take(b, callUpdate, now, time.Minute); u.Sub(now) < time.Second {
		t.Fatalf("edits share the workspace limit, but the second waits only %s", u.Sub(now))
	}
}

// A Mattermost reply is two API calls, and costs two.
func TestLimitsMattermostReplyCostsTwo(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mattermost = &MattermostConfig{Interval: Duration(100 * time.Millisecond)}
	ls := newLimits(cfg)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := dest{Mattermost, "c"}
	if u, _ := ls.take(d, callReply, now, time.Minute); !u.Equal(now) {
		t.Fatalf("first reply waits %s", u.Sub(now))
	}
	if u, _ := ls.take(d, callPost, now, time.Minute); u.Sub(now) < 100*time.Millisecond {
		t.Fatalf("the next call waits only %s after a two-call reply", u.Sub(now))
	}
}

// A graph posted under a card is a message in its chat: it shares the
// chat's limits with the cards and replies (Mattermost: an upload and a
// post, two calls).
func TestLimitsCoverImages(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Slack = &SlackConfig{ChannelInterval: Duration(time.Second), UpdateInterval: Duration(time.Second)}
	cfg.Telegram = &TelegramConfig{ChatInterval: Duration(time.Second), GroupInterval: Duration(3 * time.Second), GlobalInterval: Duration(time.Second / 30)}
	cfg.Mattermost = &MattermostConfig{Interval: Duration(100 * time.Millisecond)}
	ls := newLimits(cfg)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, d := range []dest{{Slack, "C1"}, {Telegram, "-100"}} {
		if u, _ := ls.take(d, callPost, now, time.Minute); !u.Equal(now) {
			t.Fatalf("%v: the post waits %s", d, u.Sub(now))
		}
		if u, _ := ls.take(d, callImage, now, time.Minute); u.Sub(now) < time.Second {
			t.Errorf("%v: an image right after the card waits only %s", d, u.Sub(now))
		}
	}
	if cost(dest{Mattermost, "x"}, callImage) != 2 || cost(dest{Slack, "C1"}, callImage) != 1 {
		t.Error("an image's cost")
	}
	m := dest{Mattermost, "x"}
	ls.take(m, callImage, now, time.Minute) // the burst of 2
	if u, _ := ls.take(m, callPost, now, time.Minute); u.Sub(now) < 100*time.Millisecond {
		t.Errorf("a Mattermost post after an image (two calls) waits only %s", u.Sub(now))
	}
}
