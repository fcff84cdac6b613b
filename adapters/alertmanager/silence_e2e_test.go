package alertmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/incidents"
)

// weirdValue is a label value that needs every escape: Alertmanager must
// store and match it exactly, through JSON and through the filter syntax.
const weirdValue = "say \"hi\", back\\slash; {a=b} ,\n🔥 新しい עברית"

// TestSilencesRealAlertmanager runs Debian's Alertmanager with a webhook
// receiver and checks that a silence made by SilenceClient exists for
// Alertmanager and amtool, mutes the alerts it matches (only those), and
// that expiring it lets their notifications through again.
func TestSilencesRealAlertmanager(t *testing.T) {
	bin := e2eAlertmanagerBinary(t)
	amtool := e2eAmtool(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget(t, 20*time.Second))
	defer cancel()
	began := time.Now()

	hook := &notificationRecorder{}
	receiver := httptest.NewServer(hook)
	t.Cleanup(receiver.Close)
	am := e2eRunAlertmanager(ctx, t, bin, e2eAM{config: fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 300ms
  repeat_interval: 600ms
receivers:
  - name: hook
    webhook_configs:
      - url: %q
        send_resolved: false
`, receiver.URL)})
	t.Logf("alertmanager ready at %s after %v", am, time.Since(began).Round(time.Millisecond))

	client, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: am, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	noisy := map[string]string{"alertname": "Noisy", "instance": "db-1", "service": "db", "severity": "warning", "note": weirdValue}
	other := map[string]string{"alertname": "Other", "instance": "db-1", "service": "db", "severity": "warning"}

	// 1. Silence the noisy alert, with the matchers klaxon builds for it.
	matchers, err := alertmanager.MatchersFor([]map[string]string{noisy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := alertmanager.Silence{
		Matchers:  matchers,
		EndsAt:    time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond),
		CreatedBy: "alice (klaxon)",
		Comment:   "INC-42: disk cleanup running, 🔕 for an hour",
	}
	id, err := client.Create(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created silence %s with %v", id, matchers)

	// 2. It exists, as sent: for the client and for amtool.
	got, err := client.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.State != alertmanager.SilenceActive || !slices.Equal(got.Matchers, matchers) ||
		got.CreatedBy != want.CreatedBy || got.Comment != want.Comment || !got.EndsAt.Equal(want.EndsAt) ||
		got.StartsAt.After(time.Now()) || got.UpdatedAt.IsZero() || !got.Covers(noisy) || got.Covers(other) {
		t.Fatalf("Get(%s) = %+v\nwant %+v", id, got, want)
	}
	if ids := amtoolQuery(ctx, t, amtool, am, "alertname=Noisy"); !slices.Equal(ids, []string{id}) {
		t.Fatalf("amtool silence query alertname=Noisy: %v, want [%s]", ids, id)
	}
	if ids := amtoolQuery(ctx, t, amtool, am, "alertname=Other"); len(ids) != 0 {
		t.Fatalf("amtool silence query alertname=Other: %v, want none", ids)
	}

	// 3. List finds it by each of its matchers, the awkward value too, and
	// not by another alert's.
	for _, m := range matchers {
		l, err := client.List(ctx, m)
		if err != nil {
			t.Fatalf("List(%v): %v", m, err)
		}
		if len(l) != 1 || l[0].ID != id {
			t.Fatalf("List(%v) = %+v, want silence %s", m, l, id)
		}
	}
	if l, err := client.List(ctx, alertmanager.Matcher{Name: "alertname", Value: "Other"}); err != nil || len(l) != 0 {
		t.Fatalf("List(alertname=Other) = %+v, %v; want nothing", l, err)
	}
	// A filter finds silences carrying that very matcher, not those it matches.
	if l, err := client.List(ctx, alertmanager.Matcher{Name: "alertname", Value: "No.*", Type: alertmanager.MatchRegexp}); err != nil || len(l) != 0 {
		t.Fatalf("List(alertname=~No.*) = %+v, %v; want nothing", l, err)
	}
	if l, err := client.List(ctx); err != nil || len(l) != 1 || l[0].ID != id {
		t.Fatalf("List() = %+v, %v; want silence %s", l, err, id)
	}

	// 4. Both alerts fire: the receiver hears Other, and again after the
	// repeat interval, but never Noisy.
	postAlerts(ctx, t, am, noisy, other)
	hook.waitFor(ctx, t, "Other", 2)
	if n := hook.count("Noisy"); n != 0 {
		t.Fatalf("the receiver got %d notifications for Noisy while it was silenced:\n%s", n, hook.dump())
	}
	if by := silencedBy(ctx, t, am, "Noisy"); !slices.Equal(by, []string{id}) {
		t.Fatalf("Alertmanager says Noisy is silenced by %v, want [%s]", by, id)
	}
	t.Logf("%v: Other notified %d times, Noisy muted", time.Since(began).Round(time.Millisecond), hook.count("Other"))

	// 5. Expire it: the answer says it was active; a second Expire finds it
	// already expired, which is no error.
	was, err := client.Expire(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if was.ID != id || was.State != alertmanager.SilenceActive {
		t.Fatalf("Expire returned %+v, want the active silence %s", was, id)
	}
	got, err = client.Get(ctx, id)
	if err != nil || got.State != alertmanager.SilenceExpired {
		t.Fatalf("Get after Expire: %+v, %v; want expired", got, err)
	}
	again, err := client.Expire(ctx, id)
	if err != nil || again.State != alertmanager.SilenceExpired {
		t.Fatalf("second Expire: %+v, %v; want the expired silence and no error", again, err)
	}
	if l, err := client.List(ctx, matchers[0]); err != nil || len(l) != 0 {
		t.Fatalf("List after Expire = %+v, %v; want nothing", l, err)
	}
	if l, err := client.ListAll(ctx, matchers[0]); err != nil || len(l) != 1 || l[0].State != alertmanager.SilenceExpired {
		t.Fatalf("ListAll after Expire = %+v, %v; want the expired silence", l, err)
	}
	if ids := amtoolQuery(ctx, t, amtool, am, "alertname=Noisy"); len(ids) != 0 {
		t.Fatalf("amtool silence query after Expire: %v, want none", ids)
	}
	if ids := amtoolQuery(ctx, t, amtool, am, "--expired", "alertname=Noisy"); !slices.Equal(ids, []string{id}) {
		t.Fatalf("amtool silence query --expired: %v, want [%s]", ids, id)
	}

	// 6. Notifications for Noisy resume.
	hook.waitFor(ctx, t, "Noisy", 1)
	t.Logf("%v: Noisy notified after the silence expired", time.Since(began).Round(time.Millisecond))

	// 7. A silence that starts later is pending, listed, and expires.
	later := want
	later.StartsAt = time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	later.EndsAt = later.StartsAt.Add(time.Hour)
	pid, err := client.Create(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := client.List(ctx, matchers[0]); err != nil || len(l) != 1 || l[0].ID != pid ||
		l[0].State != alertmanager.SilencePending || !l[0].StartsAt.Equal(later.StartsAt) {
		t.Fatalf("List with a pending silence = %+v, %v; want %s pending from %v", l, err, pid, later.StartsAt)
	}
	if was, err := client.Expire(ctx, pid); err != nil || was.State != alertmanager.SilencePending {
		t.Fatalf("Expire(pending) = %+v, %v", was, err)
	}
	if got, err := client.Get(ctx, pid); err != nil || got.State != alertmanager.SilenceExpired {
		t.Fatalf("Get after expiring a pending silence = %+v, %v; want expired", got, err)
	}

	// 8. Unknown and malformed IDs.
	const unknown = "00000000-0000-4000-8000-000000000000"
	if _, err := client.Get(ctx, unknown); incidents.ErrorKind(err) != incidents.NotFound {
		t.Errorf("Get(unknown) = %v, want NotFound", err)
	}
	_, err = client.Expire(ctx, unknown)
	if incidents.ErrorKind(err) != incidents.NotFound || !strings.Contains(incidents.ErrorMessage(err), "has no silence "+unknown) {
		t.Errorf("Expire(unknown) = %v, want NotFound naming the ID", err)
	}
	if _, err := client.Expire(ctx, "INC-42"); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("Expire(INC-42) = %v, want Invalid (Alertmanager takes UUIDs)", err)
	} else {
		t.Logf("Expire(INC-42): %s", incidents.ErrorMessage(err))
	}

	// 9. Alertmanager's own refusal reaches the caller: klaxon's clock is
	// two hours slow, so the silence ends before Alertmanager's now.
	slow, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: am, Clock: fixedClock(time.Now().Add(-2 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = slow.Create(ctx, alertmanager.Silence{Matchers: matchers, EndsAt: time.Now().Add(-time.Hour), CreatedBy: "a", Comment: "c"})
	if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(incidents.ErrorMessage(err), "400 Bad Request") ||
		!strings.Contains(incidents.ErrorMessage(err), "past") {
		t.Errorf("a silence ending in Alertmanager's past: %v, want Invalid with its 400 message", err)
	} else {
		t.Logf("Alertmanager's refusal: %s", incidents.ErrorMessage(err))
	}
	t.Logf("done in %v", time.Since(began).Round(time.Millisecond))
}

// basic auth for the Alertmanager started with --web.config.file.
const (
	e2eBasicUser = "klaxon"
	e2eBasicPass = "am-basic-pass-5e1c"
	// e2eBasicHash is bcrypt (cost 4) of e2eBasicPass, as
	// `htpasswd -nbBC 4 klaxon am-basic-pass-5e1c` makes it.
	e2eBasicHash = "$2a$04$s8EL3ZsEOdPyuTQp/6bz.OKw7TPScnCzp1GNfio3SKDvhqGZJ1R8W"
)

// TestSilencesBasicAuthRealAlertmanager runs Alertmanager with basic auth
// (its --web.config.file): the right password works, a wrong one or a
// bearer token is Unauthorized, and no error shows a secret.
func TestSilencesBasicAuthRealAlertmanager(t *testing.T) {
	bin := e2eAlertmanagerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget(t, 15*time.Second))
	defer cancel()
	am := e2eRunAlertmanager(ctx, t, bin, e2eAM{
		config:    "route:\n  receiver: none\nreceivers:\n  - name: none\n",
		webConfig: fmt.Sprintf("basic_auth_users:\n  %s: %s\n", e2eBasicUser, e2eBasicHash),
		user:      e2eBasicUser, pass: e2eBasicPass,
	})
	s := alertmanager.Silence{
		Matchers:  []alertmanager.Matcher{{Name: "alertname", Value: "Maintenance"}},
		EndsAt:    time.Now().Add(time.Hour),
		CreatedBy: "bob (klaxon)", Comment: "INC-7",
	}

	// The password in the options, and in the URL.
	u, _ := url.Parse(am)
	u.User = url.UserPassword(e2eBasicUser, e2eBasicPass)
	for _, o := range []alertmanager.SilenceOptions{
		{URL: am, Username: e2eBasicUser, Password: e2eBasicPass},
		{URL: u.String()},
	} {
		c, err := alertmanager.NewSilenceClient(o)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(c.URL(), e2eBasicPass) {
			t.Fatalf("URL() = %s shows the password", c.URL())
		}
		id, err := c.Create(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Get(ctx, id); err != nil || got.ID != id {
			t.Fatalf("Get(%s) = %+v, %v", id, got, err)
		}
		if _, err := c.Expire(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	for name, o := range map[string]alertmanager.SilenceOptions{
		"wrong password": {URL: am, Username: e2eBasicUser, Password: "wrong-pass-93kd"},
		"bearer token":   {URL: am, Token: "bearer-token-1d8x"},
		"nothing":        {URL: am},
	} {
		c, err := alertmanager.NewSilenceClient(o)
		if err != nil {
			t.Fatal(err)
		}
		_, errCreate := c.Create(ctx, s)
		_, errList := c.List(ctx)
		for _, err := range []error{errCreate, errList} {
			if incidents.ErrorKind(err) != incidents.Unauthorized || !strings.Contains(incidents.ErrorMessage(err), "401") {
				t.Errorf("%s: %v, want Unauthorized (401)", name, err)
			}
			noSecrets(t, err, e2eBasicPass, "wrong-pass-93kd", "bearer-token-1d8x")
		}
	}
}

// TestSilenceUnavailable: an Alertmanager that is down, hangs or fails is
// Unavailable, quickly, and the message says whether anything changed.
func TestSilenceUnavailable(t *testing.T) {
	ctx := context.Background()
	s := alertmanager.Silence{
		Matchers:  []alertmanager.Matcher{{Name: "alertname", Value: "X"}},
		EndsAt:    time.Now().Add(time.Hour),
		CreatedBy: "a", Comment: "c",
	}

	// Down: nothing listens on the port.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	c, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: downURL, Token: "tok-down-55"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Create(ctx, s)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Create against a closed port took %v", d)
	}
	if incidents.ErrorKind(err) != incidents.Unavailable ||
		incidents.ErrorMessage(err) != "Alertmanager at "+downURL+" is unreachable (connection refused): nothing changed" {
		t.Errorf("down: %v (%q)", err, incidents.ErrorMessage(err))
	}
	noSecrets(t, err, "tok-down-55")
	_, err = c.Expire(ctx, "00000000-0000-4000-8000-000000000000")
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(incidents.ErrorMessage(err), "nothing changed") {
		t.Errorf("down, Expire: %v", err)
	}

	// Hangs: answers nothing until the test ends.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	c, err = alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: hang.URL, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = c.Create(ctx, s)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Create against a hanging server took %v with a 300ms timeout", d)
	}
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(incidents.ErrorMessage(err), "no answer within 300ms") ||
		!strings.Contains(incidents.ErrorMessage(err), "may or may not") {
		t.Errorf("hang, Create: %v (%q)", err, incidents.ErrorMessage(err))
	}
	_, err = c.List(ctx)
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.HasSuffix(incidents.ErrorMessage(err), "nothing changed") {
		t.Errorf("hang, List: %v (%q)", err, incidents.ErrorMessage(err))
	}

	// Fails: 5xx, Grafana's 409 while its Alertmanager starts, a proxy's
	// HTML page.
	for status, body := range map[int]string{
		http.StatusInternalServerError: `"silence storage failed"`,
		http.StatusServiceUnavailable:  `upstream connect error`,
		http.StatusConflict:            `{"message":"Alertmanager is not ready yet"}`,
		http.StatusOK:                  `<html>Sign in</html>`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
		c, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Create(ctx, s)
		srv.Close()
		if incidents.ErrorKind(err) != incidents.Unavailable {
			t.Errorf("%d %s: %v, want Unavailable", status, body, err)
		}
		t.Logf("%d: %s", status, incidents.ErrorMessage(err))
	}
}

// e2eAmtool finds amtool (package prometheus-alertmanager) as
// e2eAlertmanagerBinary finds Alertmanager.
func e2eAmtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("amtool"); err == nil {
		return p
	}
	const msg = "amtool is not on PATH; install package prometheus-alertmanager"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: this test must run)")
	}
	t.Skip(msg)
	return ""
}

// e2eBudget is d, or less when the test's deadline is nearer.
func e2eBudget(t *testing.T, d time.Duration) time.Duration {
	if dl, ok := t.Deadline(); ok && time.Until(dl)-2*time.Second < d {
		return time.Until(dl) - 2*time.Second
	}
	return d
}

// amtoolQuery runs `amtool silence query -o json` and returns the IDs.
func amtoolQuery(ctx context.Context, t *testing.T, amtool, am string, args ...string) []string {
	t.Helper()
	cmd := exec.CommandContext(ctx, amtool, append([]string{"silence", "query", "-o", "json", "--alertmanager.url=" + am}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	var l []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	ids := []string{}
	for _, s := range l {
		ids = append(ids, s.ID)
	}
	return ids
}

// postAlerts sends firing alerts to Alertmanager's API.
func postAlerts(ctx context.Context, t *testing.T, am string, labels ...map[string]string) {
	t.Helper()
	alerts := make([]e2eAlert, len(labels))
	for i, l := range labels {
		alerts[i] = e2eAlert{Labels: l, StartsAt: time.Now().UTC()}
	}
	e2ePostAlerts(ctx, t, &http.Client{Timeout: 5 * time.Second}, am, alerts...)
}

// silencedBy asks Alertmanager which silences mute the alert named alertname.
func silencedBy(ctx context.Context, t *testing.T, am, alertname string) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", am+"/api/v2/alerts?filter="+url.QueryEscape(`alertname="`+alertname+`"`), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []struct {
		Status struct {
			State      string   `json:"state"`
			SilencedBy []string `json:"silencedBy"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil || len(alerts) != 1 {
		t.Fatalf("GET /api/v2/alerts for %s: %d alerts, %v", alertname, len(alerts), err)
	}
	if alerts[0].Status.State != "suppressed" {
		t.Fatalf("%s is %s, want suppressed", alertname, alerts[0].Status.State)
	}
	return alerts[0].Status.SilencedBy
}

// notificationRecorder is a webhook receiver that counts notifications
// per alertname.
type notificationRecorder struct {
	mu     sync.Mutex
	counts map[string]int
	bodies []string
}

func (h *notificationRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m alertmanager.Message
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = map[string]int{}
	}
	for _, a := range m.Alerts {
		h.counts[a.Labels["alertname"]]++
	}
	var buf bytes.Buffer
	json.Compact(&buf, body)
	h.bodies = append(h.bodies, buf.String())
}

func (h *notificationRecorder) count(alertname string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[alertname]
}

func (h *notificationRecorder) dump() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.bodies, "\n")
}

// waitFor waits until alertname was notified n times.
func (h *notificationRecorder) waitFor(ctx context.Context, t *testing.T, alertname string, n int) {
	t.Helper()
	for h.count(alertname) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %d notifications of %s: got %d:\n%s", n, alertname, h.count(alertname), h.dump())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// noSecrets fails when err's text shows any of secrets.
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) || strings.Contains(incidents.ErrorMessage(err), s) {
			t.Errorf("error %q shows a secret", err)
		}
	}
}
