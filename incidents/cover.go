package incidents

import (
	"context"
	"time"
)

// CoverRequest is someone asking Person to be on call for Team's Schedule
// from From until Until in their place: Person accepts (an override is
// set), declines, or does not answer before Expires.
type CoverRequest struct {
	ID       string    `json:"id"` // 1 to 16 of a-z 0-9: it travels in button keys
	Team     string    `json:"team"`
	Schedule string    `json:"schedule"`
	Person   string    `json:"person"` // asked to cover
	Asker    string    `json:"asker"`
	From     time.Time `json:"from"`
	Until    time.Time `json:"until"`
	AskedAt  time.Time `json:"askedAt"`
	Expires  time.Time `json:"expires"`
}

// CoverRequests keeps pending cover requests, shared by every replica.
// Each request is taken once: by its answer, or when it expires, on
// whichever replica comes first.
// Errors: Unavailable, Internal; TakeCoverRequest also NotFound.
type CoverRequests interface {
	// AddCoverRequest files r (its ID must be new).
	AddCoverRequest(ctx context.Context, r CoverRequest) error
	// CoverRequest returns the pending request id without taking it:
	// NotFound when none is pending under id.
	CoverRequest(ctx context.Context, id string) (*CoverRequest, error)
	// TakeCoverRequest removes the pending request id and returns it:
	// NotFound when none is pending under id (answered, expired or never
	// made). Of callers racing for one id, one gets it.
	TakeCoverRequest(ctx context.Context, id string) (*CoverRequest, error)
	// TakeExpiredCoverRequests removes and returns up to n pending
	// requests whose Expires is not after now, soonest first.
	TakeExpiredCoverRequests(ctx context.Context, now time.Time, n int) ([]CoverRequest, error)
}
