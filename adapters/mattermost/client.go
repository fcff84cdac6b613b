package mattermost

// The sender: klaxon's cards as Mattermost posts through the API v4
// (rest.go).
//
// A card is one top-level post (its ref is the post id) tagged with
// Props["klaxon_incident"] so that Find can locate it again; Update patches
// that post in place (message and props); Reply posts a thread reply.
// The API needs the channel for a reply (the server checks that a reply is
// in its root's channel) and the ref holds only the post id, so Reply reads
// the root post first (GET /api/v4/posts/{id}): two calls per reply, and a
// card that was deleted is noticed there ("message_not_found").

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// PropIncident is the post prop that tags a card with its incident id.
const PropIncident = "klaxon_incident"

// Error codes of the client's own (the others are Mattermost's AppError ids
// or "http_<status>").
const (
	CodeMessageNotFound = "message_not_found" // the card's post is gone: repost
	CodeRateLimited     = "rate_limited"
	CodeNetwork         = "network"
	CodeTimeout         = "timeout"
	CodeCanceled        = "canceled"
	CodeBadRef          = "bad_ref"
	CodeBadDest         = "bad_dest"
	CodeBadCard         = "bad_card"
	CodeBadResponse     = "bad_response"
)

// Options configure a Client.
type Options struct {
	// URL is the server's base URL, e.g. https://chat.example.com.
	URL string
	// Token is the bot's (or a personal) access token, sent as a Bearer
	// token.
	Token string
	// ActionURL is where Mattermost posts button clicks (klaxon's
	// public_url + "/mattermost/actions"); "" = no action buttons.
	ActionURL string
	// HTTPClient makes the requests; default: &http.Client{Timeout: 10 * time.Second}.
	HTTPClient *http.Client
	// Sign returns the signed key of a button on the card of incidentID
	// in channel (Mattermost's action calls are unauthenticated: the key
	// names the channel it was made for); nil = no action buttons.
	Sign func(channel, incidentID string, a templates.Action) string
	// Now is the clock of IsMember's cache; default time.Now.
	Now func() time.Time
}

// Client posts, edits and threads klaxon's cards in Mattermost. It is safe
// for concurrent use. It neither retries nor rate-limits: a failure is an
// *Error that says whether and when to retry.
type Client struct {
	api       *api // never modified after New
	actionURL string
	sign      func(channel, incidentID string, a templates.Action) string
	now       func() time.Time
	me        struct {
		sync.Mutex
		id string // the bot's user id, once read
	}
	channels *cache // post id → its channel, for the keys of an edit
	members  *cache // channel + "/" + user id → seen a member
}

// Bounds of the Client's caches.
const (
	// MemberCacheTTL is how long IsMember trusts a "member" answer: a
	// user removed from a channel can use its buttons that much longer.
	MemberCacheTTL  = time.Minute
	memberCacheSize = 4096
	postCacheSize   = 10000
)

// New returns a Client for o. It checks the options and does not call the
// network.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("mattermost: URL must be the server's absolute http(s) base URL, e.g. https://chat.example.com")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("mattermost: URL must not hold credentials, a query or a fragment")
	}
	if o.Token == "" {
		return nil, errors.New("mattermost: a token is required")
	}
	for i := 0; i < len(o.Token); i++ {
		if c := o.Token[i]; c <= ' ' || c >= 0x7f {
			return nil, errors.New("mattermost: the token holds spaces or characters that are not printable ASCII")
		}
	}
	if o.ActionURL != "" && !validActionURL(o.ActionURL) {
		return nil, fmt.Errorf("mattermost: action URL must be an absolute http(s) URL of at most %d bytes", MaxActionURLBytes)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	api := newAPI(strings.TrimRight(u.String(), "/"), o.Token, hc)
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Client{api: api, actionURL: o.ActionURL, sign: o.Sign, now: now,
		channels: newCache(postCacheSize), members: newCache(memberCacheSize)}, nil
}

// ValidDest checks a destination: a Mattermost channel ID (26 letters and
// digits, as the channel's "View Info" shows it), not a channel name.
func ValidDest(dest string) error {
	if validID(dest) {
		return nil
	}
	show := dest
	if len(show) > 40 || !utf8.ValidString(show) {
		show = strings.ToValidUTF8(show[:min(len(show), 40)], "?") + "…"
	}
	return fmt.Errorf("mattermost: channel %q is not a channel ID: want the 26-character ID "+
		"(letters and digits, channel menu > View Info), not the channel's name", show)
}

// Post posts the card as a top-level post in channel dest and returns its
// ref (the post id).
func (c *Client) Post(ctx context.Context, dest string, card *templates.Card) (string, error) {
	const op = "CreatePost"
	if err := ValidDest(dest); err != nil {
		return "", &Error{Op: op, Code: CodeBadDest, Err: err}
	}
	if card == nil {
		return "", &Error{Op: op, Code: CodeBadCard, Err: errors.New("nil card")}
	}
	p := c.compile(card, dest)
	p.ChannelId = dest
	created, resp, err := c.api.CreatePost(ctx, p)
	if err != nil {
		return "", wrap(ctx, op, resp, err)
	}
	if created == nil || !validID(created.Id) {
		return "", &Error{Op: op, Status: status(resp), Code: CodeBadResponse, Err: errors.New("no post id in the response")}
	}
	c.channels.put(created.Id, dest, time.Time{}, time.Time{})
	return created.Id, nil
}

// Update edits the card's post in place: message and props (the
// attachment), as PatchPost replaces them, its buttons signed afresh. A
// post that is gone gives an *Error with code "message_not_found". The
// keys name the post's channel: the Client remembers the channels of the
// posts it made or found, and reads the post (GetPost) for one it does not
// know (after a restart, once a card).
func (c *Client) Update(ctx context.Context, ref string, card *templates.Card) error {
	const op = "PatchPost"
	id, err := parseRef(op, ref)
	if err != nil {
		return err
	}
	if card == nil {
		return &Error{Op: op, Code: CodeBadCard, Err: errors.New("nil card")}
	}
	channel, err := c.channelOf(ctx, id)
	if err != nil {
		return err
	}
	p := c.compile(card, channel)
	props := p.Props
	patch := &postPatch{Message: &p.Message, Props: &props}
	_, resp, err := c.api.PatchPost(ctx, id, patch)
	if err == nil {
		return nil
	}
	e := wrap(ctx, op, resp, err)
	switch e.Status {
	case http.StatusNotFound:
		e.Code, e.Temp = CodeMessageNotFound, false
	case http.StatusForbidden:
		// The server answers 403, not 404, for a post that does not exist
		// (any more): tell that apart from a missing permission.
		if _, gerr := c.root(ctx, id); gerr != nil {
			var ge *Error
			if errors.As(gerr, &ge) && ge.Code == CodeMessageNotFound {
				e.Code = CodeMessageNotFound
			} else if ge != nil && ge.Temp {
				return gerr
			}
		}
	}
	return e
}

// Reply posts events, in order, as one thread reply under the card: one
// line each (EventText), the first that fit within MaxRunes and then
// "+N more events". No events: nothing is posted.
func (c *Client) Reply(ctx context.Context, ref string, events []incidents.Event) error {
	const op = "CreatePost"
	id, err := parseRef(op, ref)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	root, err := c.root(ctx, id)
	if err != nil {
		return err
	}
	rootID := root.Id
	if root.RootId != "" {
		rootID = root.RootId // the ref is a reply: thread under its root
	}
	reply := &Post{ChannelId: root.ChannelId, RootId: rootID, Message: ReplyText(events)}
	_, resp, err := c.api.CreatePost(ctx, reply)
	if err != nil {
		e := wrap(ctx, op, resp, err)
		if e.Code == "api.post.create_post.root_id.app_error" {
			e.Code, e.Temp = CodeMessageNotFound, false
		}
		return e
	}
	return nil
}

// ReplyText is the message Reply posts for events: their EventText lines,
// the first that fit within MaxRunes, then "+N more events".
func ReplyText(events []incidents.Event) string {
	lines := make([]string, len(events))
	total := -1
	for i, e := range events {
		lines[i] = EventText(e)
		total += utf8.RuneCountInString(lines[i]) + 1
	}
	if total <= MaxRunes {
		return strings.Join(lines, "\n")
	}
	used, k := 0, 0
	for ; k < len(lines); k++ {
		add := utf8.RuneCountInString(lines[k])
		if k > 0 {
			add++
		}
		tail := 1 + utf8.RuneCountInString(moreText(len(lines)-k-1, "event", "events"))
		if used+add+tail > MaxRunes {
			break
		}
		used += add
	}
	more := moreText(len(lines)-k, "event", "events")
	if k == 0 {
		return more
	}
	return strings.Join(lines[:k], "\n") + "\n" + more
}

// FindWindow is how far past since Find looks. The outbox marks a card
// "about to post", then posts it, and asks for since = the mark − 1 min
// (for clocks that differ): the post starts right after the mark is saved
// and ends within the HTTP client's timeout (10 s in klaxon) and the
// outbox's sync deadline (¾ of its lease: 45 s by default), and the
// server stamps the post (CreateAt) while it handles the request. Five
// minutes from since — the mark + 4 min — holds that with minutes to
// spare, and keeps what Find reads to the window's posts, however busy the
// channel has been since.
const FindWindow = 5 * time.Minute

// Find's paging: the posts API's largest page, and bounds on the search
// for the window's start and on the pages read through the window (a
// window with more posts than that is refused as too busy to look
// through).
const (
	findPerPage   = 200
	findMaxProbes = 64
	findMaxPages  = 500
)

// Find returns the ref of a top-level post in channel dest tagged with
// incidentID and created in the window [since, since+FindWindow], or ""
// when there is none (and when since is zero: there is no mark to look
// from). Replies and deleted posts do not count.
//
// The posts API cannot be asked for a time range: since= returns at most
// 1,000 posts updated after a time, any 1,000 of them, so a busy channel
// hides the card; pages (page, per_page) count from the newest post. So
// Find first searches the newest-first pages for the window's start (the
// newest post created before since): pages 0, 1, 3, 7… until one reaches
// back past since, then halving the gap, about 2·log2(N/200) calls for N
// posts newer than since. From that post it reads forward with after=<post
// id>, oldest first, 200 a call, to the window's end: pages counted from a
// post before the window do not move as new posts arrive, and they end
// where the window does. A window of more than 100,000 posts is an *Error
// "window_too_busy" (not retried) rather than a guess.
func (c *Client) Find(ctx context.Context, dest, incidentID string, since time.Time) (string, error) {
	const op = "GetPostsForChannel"
	if err := ValidDest(dest); err != nil {
		return "", &Error{Op: op, Code: CodeBadDest, Err: err}
	}
	if incidentID == "" || since.IsZero() {
		return "", nil
	}
	from, until := since.UnixMilli(), since.Add(FindWindow).UnixMilli()
	f := &finder{c: c, dest: dest, incident: incidentID, from: from, until: until}
	ref, err := f.find(ctx, since)
	if ref != "" {
		c.channels.put(ref, dest, time.Time{}, time.Time{})
	}
	return ref, err
}

// find reads the window from the post before it forward.
func (f *finder) find(ctx context.Context, since time.Time) (string, error) {
	c, dest, until := f.c, f.dest, f.until
	anchor, err := f.start(ctx)
	if err != nil || f.found != "" || anchor == "" {
		return f.found, err
	}
	for page := range findMaxPages {
		list, resp, err := c.api.GetPostsAfter(ctx, dest, anchor, page, findPerPage)
		if err != nil {
			return "", wrap(ctx, "GetPostsAfter", resp, err)
		}
		ps := ordered(list)
		if f.check(ps) || len(ps) < findPerPage {
			return f.found, nil
		}
		for _, p := range ps {
			if p.CreateAt > until {
				return "", nil // past the window
			}
		}
	}
	return "", &Error{Op: "GetPostsAfter", Code: CodeWindowTooBusy,
		Err: fmt.Errorf("more than %d posts in the %s after %s", findMaxPages*findPerPage, FindWindow, since.UTC().Format(time.RFC3339))}
}

// CodeWindowTooBusy is Find's error for a window with more posts than it
// reads.
const CodeWindowTooBusy = "window_too_busy"

// finder is one Find.
type finder struct {
	c           *Client
	dest        string
	incident    string
	from, until int64  // the window, ms
	found       string // the card, once seen: the first posted
	foundAt     int64
}

// check looks for the card among ps and reports whether it is there.
func (f *finder) check(ps []*Post) bool {
	for _, p := range ps {
		if p.RootId != "" || p.DeleteAt != 0 || p.ChannelId != f.dest && p.ChannelId != "" ||
			p.CreateAt < f.from || p.CreateAt > f.until || !validID(p.Id) {
			continue
		}
		if v, _ := p.Props[PropIncident].(string); v == f.incident {
			if f.found == "" || p.CreateAt < f.foundAt || p.CreateAt == f.foundAt && p.Id < f.found {
				f.found, f.foundAt = p.Id, p.CreateAt
			}
		}
	}
	return f.found != ""
}

// page reads page k of the channel's posts, newest first.
func (f *finder) page(ctx context.Context, k int) ([]*Post, error) {
	list, resp, err := f.c.api.GetPostsForChannel(ctx, f.dest, k, findPerPage)
	if err != nil {
		return nil, wrap(ctx, "GetPostsForChannel", resp, err)
	}
	ps := ordered(list)
	f.check(ps)
	return ps, nil
}

// reaches reports whether page ps reaches back before the window (or is
// the channel's end).
func (f *finder) reaches(ps []*Post) bool {
	return len(ps) < findPerPage || ps[len(ps)-1].CreateAt < f.from
}

// start finds the post to read forward from: the newest post created
// before the window, or the channel's first post when none is (that page
// is checked for the card as it is read). "" with f.found unset: the
// channel has no post at all.
func (f *finder) start(ctx context.Context) (string, error) {
	lo, hi := -1, 0 // pages ≤ lo end within the window or after it; page hi reaches back before it
	var loPosts, hiPosts []*Post
	for probes := 0; ; probes++ {
		if probes == findMaxProbes {
			return "", &Error{Op: "GetPostsForChannel", Code: CodeWindowTooBusy, Err: errors.New("no post before the window found")}
		}
		ps, err := f.page(ctx, hi)
		if err != nil || f.found != "" {
			return "", err
		}
		if f.reaches(ps) {
			hiPosts = ps
			break
		}
		lo, loPosts, hi = hi, ps, 2*hi+1
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ps, err := f.page(ctx, mid)
		if err != nil || f.found != "" {
			return "", err
		}
		if f.reaches(ps) {
			hi, hiPosts = mid, ps
		} else {
			lo, loPosts = mid, ps
		}
	}
	for _, p := range hiPosts { // newest first: the first before the window
		if p.CreateAt < f.from {
			return p.Id, nil
		}
	}
	// Every post is in the window or after it: read on from the channel's
	// first (read already, with its page).
	switch {
	case len(hiPosts) > 0:
		return hiPosts[len(hiPosts)-1].Id, nil
	case len(loPosts) > 0:
		return loPosts[len(loPosts)-1].Id, nil
	}
	return "", nil
}

// ordered returns the posts of list's order (the page's own posts, not the
// roots of its replies that the list carries too), in that order.
func ordered(list *postList) []*Post {
	if list == nil {
		return nil
	}
	ps := make([]*Post, 0, len(list.Order))
	for _, id := range list.Order {
		if p := list.Posts[id]; p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// root reads the post id, mapping a post that is gone to "message_not_found".
func (c *Client) root(ctx context.Context, id string) (*Post, error) {
	const op = "GetPost"
	p, resp, err := c.api.GetPost(ctx, id)
	if err != nil {
		e := wrap(ctx, op, resp, err)
		if e.Status == http.StatusNotFound {
			e.Code, e.Temp = CodeMessageNotFound, false
		}
		return nil, e
	}
	if p == nil || !validID(p.ChannelId) {
		return nil, &Error{Op: op, Status: status(resp), Code: CodeBadResponse, Err: errors.New("no channel id in the post")}
	}
	if p.DeleteAt != 0 {
		return nil, &Error{Op: op, Status: status(resp), Code: CodeMessageNotFound, Err: errors.New("the post was deleted")}
	}
	return p, nil
}

// buttons reports whether the Client's cards have action buttons.
func (c *Client) buttons() bool { return c.sign != nil && c.actionURL != "" }

// compile is the post the Client makes for a card in channel: buttons
// signed for that channel, tagged with its incident.
func (c *Client) compile(card *templates.Card, channel string) *Post {
	var key Key
	if c.buttons() && card != nil {
		id := card.IncidentID
		key = func(a templates.Action) string { return c.sign(channel, id, a) }
	}
	p := Compile(card, key, c.actionURL)
	if card != nil && card.IncidentID != "" {
		if p.Props == nil {
			p.Props = map[string]any{}
		}
		p.Props[PropIncident] = card.IncidentID
	}
	return p
}

// channelOf returns the channel of post id when the card's buttons need it
// ("" when there are none), reading the post when the Client does not know
// it.
func (c *Client) channelOf(ctx context.Context, id string) (string, error) {
	if !c.buttons() {
		return "", nil
	}
	if ch, ok := c.channels.get(id, time.Time{}); ok {
		return ch, nil
	}
	p, err := c.root(ctx, id)
	if err != nil {
		return "", err
	}
	c.channels.put(id, p.ChannelId, time.Time{}, time.Time{})
	return p.ChannelId, nil
}

// IsMember reports whether userID is a member of channelID, as the
// Mattermost API says (GET /api/v4/channels/{channel}/members/{user} with
// the bot's token: 404 = not a member). A "yes" is remembered for
// MemberCacheTTL (up to 4,096 of them); a "no" is never remembered, so a
// user who just joined is let in at once. A user id that is not an id is
// no member. Any other failure is an *Error, never a guess.
func (c *Client) IsMember(ctx context.Context, channelID, userID string) (bool, error) {
	const op = "GetChannelMember"
	if err := ValidDest(channelID); err != nil {
		return false, &Error{Op: op, Code: CodeBadDest, Err: err}
	}
	if !validID(userID) {
		return false, nil
	}
	k, now := channelID+"/"+userID, c.now()
	if _, ok := c.members.get(k, now); ok {
		return true, nil
	}
	m, resp, err := c.api.GetChannelMember(ctx, channelID, userID)
	if err != nil {
		e := wrap(ctx, op, resp, err)
		if e.Status == http.StatusNotFound {
			return false, nil
		}
		return false, e
	}
	if m == nil || m.ChannelId != channelID || m.UserId != userID {
		return false, &Error{Op: op, Status: status(resp), Code: CodeBadResponse, Err: errors.New("the membership names another channel or user")}
	}
	c.members.put(k, "", now.Add(MemberCacheTTL), now)
	return true, nil
}

// cache is a bounded map of strings with optional expiry; when full, a
// put drops the expired entries, then any, to make room. Safe for
// concurrent use.
type cache struct {
	mu  sync.Mutex
	max int
	m   map[string]cacheEntry
}

type cacheEntry struct {
	v       string
	expires time.Time // zero: never
}

func newCache(max int) *cache { return &cache{max: max, m: map[string]cacheEntry{}} }

// get returns k's value unless it expired by now (a zero now: never).
func (c *cache) get(k string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !e.expires.IsZero() && !now.IsZero() && now.After(e.expires) {
		return "", false
	}
	return e.v, true
}

// put sets k; now is the time expired entries are dropped by.
func (c *cache) put(k, v string, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if !e.expires.IsZero() && now.After(e.expires) {
				delete(c.m, key)
			}
		}
		for key := range c.m { // map order: any
			if len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = cacheEntry{v, expires}
}

func parseRef(op, ref string) (string, error) {
	if !validID(ref) {
		return "", &Error{Op: op, Code: CodeBadRef, Err: errors.New("a ref is a 26-character Mattermost post id")}
	}
	return ref, nil
}

// Error is every failure a Client returns.
type Error struct {
	Op     string        // the API call, as Mattermost's Go client names it: "CreatePost", "PatchPost", "GetPost", "GetPostsForChannel", "GetPostsAfter", "GetChannelMember", "GetUser", "GetMe", "CreateDirectChannel"
	Status int           // HTTP status when known (0 otherwise)
	Code   string        // Mattermost's AppError id, "http_<status>", or one of the Code constants
	Wait   time.Duration // Retry-After (429) when given
	Temp   bool          // worth retrying: 429, 5xx, network errors, timeouts, cancellation
	Err    error         // cause
}

// Error says which call failed and why, e.g. "mattermost PatchPost:
// message_not_found (HTTP 403)". It never holds the token.
func (e *Error) Error() string {
	s := "mattermost " + e.Op + ": " + e.Code
	if e.Status != 0 {
		s += " (HTTP " + strconv.Itoa(e.Status) + ")"
	}
	if e.Err != nil && (e.Code == CodeNetwork || e.Code == CodeTimeout || e.Code == CodeBadResponse || e.Code == CodeBadUser || e.Code == CodeWindowTooBusy) {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Retryable reports whether a retry may succeed (Temp).
func (e *Error) Retryable() bool { return e.Temp }

// RetryAfter returns how long the server asked to wait (Wait), 0 if it did
// not say.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// wrap turns what an API call returned into an *Error.
func wrap(ctx context.Context, op string, resp *response, err error) *Error {
	if cerr := ctx.Err(); cerr != nil {
		code := CodeCanceled
		if errors.Is(cerr, context.DeadlineExceeded) {
			code = CodeTimeout
		}
		return &Error{Op: op, Code: code, Temp: true, Err: cerr}
	}
	st := status(resp)
	if st == 0 {
		code := CodeNetwork
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			code = CodeTimeout
		}
		return &Error{Op: op, Code: code, Temp: true, Err: err}
	}
	e := &Error{Op: op, Status: st, Code: "http_" + strconv.Itoa(st), Err: err,
		Temp: st == http.StatusTooManyRequests || st >= 500 || st == http.StatusRequestTimeout}
	var ae *apiError
	if errors.As(err, &ae) && ae.Id != "" {
		e.Code = ae.Id
	}
	if st < 300 {
		e.Code = CodeBadResponse // a 2xx whose body did not decode
	}
	if st == http.StatusTooManyRequests {
		e.Code = CodeRateLimited
		e.Wait = retryAfter(resp.Header)
	}
	return e
}

func status(resp *response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// retryAfter reads Retry-After (seconds or an HTTP date), else
// X-Ratelimit-Reset (seconds until the limit resets).
func retryAfter(h http.Header) time.Duration {
	for _, name := range []string{"Retry-After", "X-Ratelimit-Reset"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n < 86400 {
			return time.Duration(n * float64(time.Second))
		}
		if name == "Retry-After" {
			if t, err := http.ParseTime(v); err == nil {
				return max(time.Until(t), 0)
			}
		}
	}
	return 0
}

// CodeBadUser and CodeUserNotFound are Mention's and Direct's: a user id
// that is not a Mattermost id, and one the server does not know.
const (
	CodeBadUser      = "bad_user"
	CodeUserNotFound = "user_not_found"
)

// Mention posts text as a thread reply under the card (ref as Post returns
// it) that notifies userID: "@username " and text escaped like a card's
// (no other mention, link or formatting survives). It reads the user
// (GET /api/v4/users/{id}) and the card (GetPost, as Reply does) first.
func (c *Client) Mention(ctx context.Context, ref, userID, text string) error {
	const op = "CreatePost"
	id, err := parseRef(op, ref)
	if err != nil {
		return err
	}
	name, err := c.username(ctx, userID)
	if err != nil {
		return err
	}
	root, err := c.root(ctx, id)
	if err != nil {
		return err
	}
	rootID := root.Id
	if root.RootId != "" {
		rootID = root.RootId
	}
	mention := "@" + name + " "
	p := &Post{ChannelId: root.ChannelId, RootId: rootID, Message: mention + notice(text, MaxRunes-utf8.RuneCountInString(mention))}
	if _, resp, err := c.api.CreatePost(ctx, p); err != nil {
		e := wrap(ctx, op, resp, err)
		if e.Code == "api.post.create_post.root_id.app_error" {
			e.Code, e.Temp = CodeMessageNotFound, false
		}
		return e
	}
	return nil
}

// Direct sends text, escaped like a card's, to userID as a direct message
// from the bot: it creates (or gets) the direct channel between the bot
// (GetMe, once) and the user, then posts there.
func (c *Client) Direct(ctx context.Context, userID, text string) error {
	if !validID(userID) {
		return badUser("CreateDirectChannel", userID)
	}
	me, err := c.botID(ctx)
	if err != nil {
		return err
	}
	ch, resp, err := c.api.CreateDirectChannel(ctx, me, userID)
	if err != nil {
		e := wrap(ctx, "CreateDirectChannel", resp, err)
		if e.Code == "api.channel.create_direct_channel.invalid_user.app_error" || e.Status == http.StatusNotFound {
			e.Code, e.Temp = CodeUserNotFound, false
		}
		return e
	}
	if ch == nil || !validID(ch.Id) {
		return &Error{Op: "CreateDirectChannel", Status: status(resp), Code: CodeBadResponse, Err: errors.New("no channel id in the response")}
	}
	p := &Post{ChannelId: ch.Id, Message: notice(text, MaxRunes)}
	if _, resp, err := c.api.CreatePost(ctx, p); err != nil {
		return wrap(ctx, "CreatePost", resp, err)
	}
	return nil
}

// notice is klaxon's own text escaped for a post message, at most max
// runes, never empty.
func notice(text string, max int) string {
	s, _, _ := escape(text, md|ml, limit{max, MaxPropsBytes})
	if s == "" {
		s = "(no text)"
	}
	return s
}

func badUser(op, userID string) *Error {
	show := userID
	if len(show) > 40 || !utf8.ValidString(show) {
		show = strings.ToValidUTF8(show[:min(len(show), 40)], "?") + "…"
	}
	return &Error{Op: op, Code: CodeBadUser, Err: fmt.Errorf("user %q is not a 26-character Mattermost user id", show)}
}

// username reads the username of userID (GetUser).
func (c *Client) username(ctx context.Context, userID string) (string, error) {
	const op = "GetUser"
	if !validID(userID) {
		return "", badUser(op, userID)
	}
	u, resp, err := c.api.GetUser(ctx, userID)
	if err != nil {
		e := wrap(ctx, op, resp, err)
		if e.Status == http.StatusNotFound || e.Code == "app.user.missing_account.const" {
			e.Code, e.Temp = CodeUserNotFound, false
		}
		return "", e
	}
	if u == nil || !validUsername(u.Username) {
		return "", &Error{Op: op, Status: status(resp), Code: CodeBadResponse, Err: errors.New("no valid username in the user")}
	}
	return u.Username, nil
}

// botID returns the bot's own user id, read once (GetMe).
func (c *Client) botID(ctx context.Context) (string, error) {
	c.me.Lock()
	defer c.me.Unlock()
	if c.me.id != "" {
		return c.me.id, nil
	}
	const op = "GetMe"
	u, resp, err := c.api.GetMe(ctx)
	if err != nil {
		return "", wrap(ctx, op, resp, err)
	}
	if u == nil || !validID(u.Id) {
		return "", &Error{Op: op, Status: status(resp), Code: CodeBadResponse, Err: errors.New("no user id in the answer")}
	}
	c.me.id = u.Id
	return u.Id, nil
}

// Announce posts text, escaped like a card's (no @channel, @here, @all or
// @user mention, link or formatting survives), as a top-level post in the
// channel dest: a notice that is not a card, such as a shift handover.
func (c *Client) Announce(ctx context.Context, dest, text string) error {
	const op = "CreatePost"
	if err := ValidDest(dest); err != nil {
		return &Error{Op: op, Code: CodeBadDest, Err: err}
	}
	p := &Post{ChannelId: dest, Message: notice(text, MaxRunes)}
	if _, resp, err := c.api.CreatePost(ctx, p); err != nil {
		return wrap(ctx, op, resp, err)
	}
	return nil
}
