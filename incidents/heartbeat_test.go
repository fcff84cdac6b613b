package incidents

import (
	"testing"
	"time"
)

func TestHeartbeatResume(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	spec := HeartbeatSpec{Name: "cron", Window: time.Hour}
	beaten := func(at time.Time) Heartbeat {
		h := NewHeartbeat(spec, t0)
		h.RecordBeat(at, time.Hour)
		return h
	}
	for _, tt := range []struct {
		name     string
		h        Heartbeat
		spec     HeartbeatSpec
		now      time.Time
		watched  time.Time
		down     bool
		deferred bool
		due      time.Time
	}{
		{"pending, up", beaten(t0), spec, t0.Add(30 * time.Minute), t0.Add(29 * time.Minute), false, false, t0.Add(time.Hour)},
		{"passed while down", beaten(t0), spec, t0.Add(3 * time.Hour), t0.Add(30 * time.Minute), true, true, t0.Add(4 * time.Hour)},
		{"passed before the last watch", beaten(t0), spec, t0.Add(3 * time.Hour), t0.Add(2 * time.Hour), true, false, t0.Add(time.Hour)},
		{"passed, not down", beaten(t0), spec, t0.Add(3 * time.Hour), t0.Add(3*time.Hour - time.Second), false, false, t0.Add(time.Hour)},
		{"pending while down", beaten(t0.Add(2 * time.Hour)), spec, t0.Add(150 * time.Minute), t0.Add(time.Hour), true, false, t0.Add(3 * time.Hour)},
		{"a new window", beaten(t0), HeartbeatSpec{Name: "cron", Window: 2 * time.Hour}, t0.Add(30 * time.Minute), t0.Add(29 * time.Minute), false, false, t0.Add(2 * time.Hour)},
		{"a new window, passed while down", beaten(t0), HeartbeatSpec{Name: "cron", Window: 30 * time.Minute}, t0.Add(40 * time.Minute), t0.Add(20 * time.Minute), true, true, t0.Add(70 * time.Minute)},
	} {
		h := tt.h
		if got := h.Resume(tt.spec, tt.now, tt.watched, tt.down); got != tt.deferred || !h.DueAt.Equal(tt.due) || h.Window != tt.spec.Window {
			t.Errorf("%s: deferred %v, due %v, window %v; want %v, %v", tt.name, got, h.DueAt, h.Window, tt.deferred, tt.due)
		}
	}
	// A missed heartbeat stays missed: only a beat starts a new deadline.
	h := beaten(t0)
	if !h.Miss(t0.Add(time.Hour)) || h.Resume(spec, t0.Add(5*time.Hour), t0.Add(2*time.Hour), true) || !h.DueAt.IsZero() || !h.Missed() {
		t.Errorf("missed heartbeat after Resume = %+v", h)
	}
	if h.Miss(t0.Add(time.Hour)) {
		t.Error("missed twice")
	}
	if HeartbeatsDown(time.Time{}, t0, time.Minute) || !HeartbeatsDown(t0, t0.Add(61*time.Second), time.Minute) || HeartbeatsDown(t0, t0.Add(time.Minute), time.Minute) {
		t.Error("HeartbeatsDown")
	}
}
