package incidents

import (
	"context"
	"time"
)

// OnceState is what Once.ClaimOnce found for a key.
type OnceState int

const (
	// OnceNew: the key was free and is now held by this caller, who must
	// SpendOnce or ReleaseOnce it.
	OnceNew OnceState = iota
	// OnceSpent: a request with this key was acted on already.
	OnceSpent
	// OnceBusy: a request with this key is being handled (elsewhere).
	OnceBusy
)

// Once makes a request be acted on once across every replica, however
// often it is sent and to whichever replica: its key (a request signature)
// is claimed while the request is handled, then spent when it was acted
// on, or released when it failed so that the sender may send it again.
// Errors: Unavailable.
type Once interface {
	// ClaimOnce holds key for hold unless it is spent or held.
	ClaimOnce(ctx context.Context, key string, hold time.Duration) (OnceState, error)
	// SpendOnce marks key acted on, for ttl.
	SpendOnce(ctx context.Context, key string, ttl time.Duration) error
	// ReleaseOnce frees a held key that was not spent.
	ReleaseOnce(ctx context.Context, key string) error
}
