package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/twilio/twiliofake"
)

// An alert escalates to a phone call through (fake) Twilio; pressing 1
// acknowledges it, as the signed callback says.
func TestEscalationCallEndToEnd(t *testing.T) {
	tw := twiliofake.New(twiliofake.Options{})
	defer tw.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: %q, public_url: "http://%s", shutdown_timeout: 5s, api_open: true}
sources: {alertmanager: {allow_unauthenticated: true}}
store: {data_dir: %q}
people:
  - {name: alice, phone: "+15551230001"}
policies:
  - name: page
    steps: [{call: alice}]
teams: [{name: ops, policy: page}]
default_team: ops
twilio: {account_sid: %s, auth_token: %s, from: "+15550000000", api_url: %q}
`, addr, addr, filepath.Join(t.TempDir(), "data"), tw.AccountSID(), tw.AuthToken(), tw.URL()))
	base, _, stop := startServe(t, cfg)
	defer stop()
	if err := run(context.Background(), []string{"fire", "--url", base}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the call", func() bool { return len(tw.Calls()) == 1 })
	call := tw.Calls()[0]
	m := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(call.Twiml)
	if call.To != "+15551230001" || m == nil {
		t.Fatalf("call %+v", call)
	}
	gather := strings.ReplaceAll(m[1], "&amp;", "&")
	// A forged press (not signed by the account's token) does nothing.
	if code, _ := post(t, gather, "application/x-www-form-urlencoded", []byte("Digits=1"), map[string]string{"X-Twilio-Signature": "forged"}); code != 401 {
		t.Fatalf("forged callback: %d", code)
	}
	resp, err := tw.Callback(context.Background(), gather, tw.Params(call, url.Values{"Digits": {"1"}}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("signed callback: %d", resp.StatusCode)
	}
	var list incidentList
	getJSON(t, base+"/api/v1/incidents?state=acknowledged", &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("acknowledged incidents: %+v", list)
	}
	var inc struct{ AckedBy string }
	getJSON(t, base+"/api/v1/incidents/INC-1", &inc)
	if inc.AckedBy != "alice (phone)" {
		t.Fatalf("acknowledged by %q", inc.AckedBy)
	}
}
