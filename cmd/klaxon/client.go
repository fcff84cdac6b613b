package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/localtrust"
	"github.com/klaxonbot/klaxon/templates"
)

// The verbs that work on incidents through a running klaxon's HTTP API,
// as any other API client does: they act through the same path as a
// button (the timeline says "by alice (cli)").

// clientOpts are the flags every such verb takes.
type clientOpts struct {
	url, token, config, output *string
}

func addClientFlags(fs *flag.FlagSet) *clientOpts {
	return &clientOpts{
		url:    fs.String("url", os.Getenv("KLAXON_URL"), "a running klaxon's base `URL`; default $KLAXON_URL, else the config's server.listen, else http://127.0.0.1:8080"),
		token:  fs.String("token", os.Getenv("KLAXON_TOKEN"), "API `token` (api_tokens in klaxon's config); default $KLAXON_TOKEN"),
		config: configFlag(fs),
		output: fs.String("o", "text", "output `format`: text or json"),
	}
}

// apiClient talks to a running klaxon.
type apiClient struct {
	base, token string
	local       bool // token is the local token (internal/localtrust)
	json        bool
	hc          *http.Client
	stdout      io.Writer
}

func (o *clientOpts) client(stdout io.Writer) (*apiClient, error) {
	if *o.output != "text" && *o.output != "json" {
		return nil, usageError{fmt.Sprintf("-o %q: want text or json", *o.output)}
	}
	base, token := *o.url, *o.token
	if base == "" || token == "" {
		if *o.config != "" {
			cfg, err := bot.LoadConfig(*o.config, nil)
			if err != nil {
				return nil, fmt.Errorf("config %s:\n%w", *o.config, err)
			}
			if base == "" {
				base = listenURL(cfg.Server.Listen)
			}
			if token == "" {
				token = cfg.Server.APIToken.Reveal()
			}
		}
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Sprintf("--url %q: want http(s)://host[:port]", base)}
	}
	c := &apiClient{base: strings.TrimRight(base, "/"), token: token, json: *o.output == "json",
		hc: &http.Client{Timeout: 15 * time.Second}, stdout: stdout}
	if token == "" {
		c.token, c.local = localTokenFor(u)
	}
	return c, nil
}

// localTokenFor returns the local token that a klaxon on this machine at
// u keeps for this user (internal/localtrust), if there is one.
func localTokenFor(u *url.URL) (string, bool) {
	if !localtrust.LoopbackHost(u.Host) {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	path, err := localtrust.TokenPath(port)
	if err != nil {
		return "", false
	}
	t, err := localtrust.Read(path)
	if err != nil {
		return "", false
	}
	return t, true
}

// listenURL is the URL of a klaxon listening on addr, from this machine.
func listenURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// do sends a request to the API and decodes a 2xx answer into out (raw,
// when out is *json.RawMessage). Errors say what to do about them.
func (c *apiClient) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return usageError{fmt.Sprintf("--url %q: %v", c.base, err)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Klaxon-Via", bot.ViaCLI)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if u, err := user.Current(); err == nil && c.local {
		// The local token's holder names who they are.
		req.Header.Set("X-Klaxon-As", u.Username)
	}
	req.Header.Set("User-Agent", "klaxon-cli/"+versionString())
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return &unreachableError{base: c.base}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("could not reach klaxon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("reading klaxon's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("klaxon at %s answered 401: %s\nGive an API token with --token or $KLAXON_TOKEN (api_tokens in klaxon's config)", c.base, msg)
		case http.StatusForbidden:
			return fmt.Errorf("refused: %s", msg)
		case http.StatusNotFound, http.StatusConflict, http.StatusBadRequest:
			return errors.New(msg)
		}
		return fmt.Errorf("klaxon at %s answered %s: %s", c.base, resp.Status, msg)
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("klaxon's answer is not what this CLI expects (is it another version?): %w", err)
		}
	}
	return nil
}

// unreachableError: nothing listens at the URL.
type unreachableError struct{ base string }

func (e *unreachableError) Error() string {
	return "no klaxon answers at " + e.base + ": is `klaxon serve` running? (--url or $KLAXON_URL names another)"
}

// printJSON writes an answer as it came, indented.
func (c *apiClient) printJSON(raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		b.Reset()
		b.Write(raw)
	}
	b.WriteByte('\n')
	_, err := c.stdout.Write(bytes.TrimLeft(b.Bytes(), "\n"))
	return err
}

// clientVerb runs a verb that works on incidents through the API.
func clientVerb(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(name, stderr)
	opts := addClientFlags(fs)
	var summaryText, kind, team, sev, state *string
	var limit *int
	switch name {
	case "resolve":
		summaryText = fs.String("summary", "", "what happened, for the postmortem")
	case "note":
		kind = fs.String("kind", "", "the note's `kind`: "+strings.Join(incidents.NoteKinds, ", ")+" (files it in the postmortem)")
	case "declare":
		team = fs.String("team", "", "the `team` that owns it; default: default_team")
		sev = fs.String("sev", "", "severity `1-4` (1 is worst); default: incidents.severity.default")
		summaryText = fs.String("summary", "", "what is known so far")
	case "list":
		state = fs.String("state", "open", "`states`: open, triggered, acknowledged, resolved or all (a comma list)")
		limit = fs.Int("limit", 50, "at most `N` incidents (1-1000)")
	}
	min, max := 1, 1
	switch name {
	case "list":
		min, max = 0, 0
	case "oncall", "silences":
		min, max = 0, 1
	case "snooze", "sev", "lead":
		min, max = 2, 2
	case "silence":
		min, max = 2, -1
	case "unsilence":
		min, max = 1, 2
	case "note", "declare":
		min, max = 1, -1
	case "feedback":
		min, max = 2, -1
	}
	pos, err := parseArgs(fs, args, min, max)
	if err != nil {
		return err
	}
	c, err := opts.client(stdout)
	if err != nil {
		return err
	}
	switch name {
	case "list":
		return c.list(ctx, *state, *limit)
	case "show":
		return c.show(ctx, pos[0])
	case "oncall":
		team := ""
		if len(pos) == 1 {
			team = pos[0]
		}
		return c.oncall(ctx, team)
	case "silences":
		team := ""
		if len(pos) == 1 {
			team = pos[0]
		}
		return c.silences(ctx, team)
	case "declare":
		body := map[string]any{"title": strings.Join(pos, " ")}
		if *team != "" {
			body["team"] = *team
		}
		if *sev != "" {
			body["severity"] = *sev
		}
		if *summaryText != "" {
			body["summary"] = *summaryText
		}
		return c.act(ctx, "/api/v1/incidents", body)
	}
	id, _, err := incidents.ParseID(pos[0])
	if err != nil {
		return usageError{incidents.ErrorMessage(err)}
	}
	path := "/api/v1/incidents/" + id + "/"
	var body map[string]any
	switch name {
	case "resolve":
		path += "resolve"
		if *summaryText != "" {
			body = map[string]any{"summary": *summaryText}
		}
	case "snooze":
		path, body = path+"snooze", map[string]any{"duration": pos[1]}
	case "silence":
		body = map[string]any{"duration": pos[1]}
		labels := map[string]string{}
		for _, kv := range pos[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" {
				return usageError{fmt.Sprintf("%q is not LABEL=VALUE; usage: klaxon silence ID DURATION [LABEL=VALUE...]", kv)}
			}
			labels[k] = v
		}
		if len(labels) > 0 {
			body["labels"] = labels
		}
		path += "silence"
	case "unsilence":
		path += "unsilence"
		if len(pos) == 2 {
			body = map[string]any{"silence": pos[1]}
		}
	case "sev":
		path, body = path+"severity", map[string]any{"severity": pos[1]}
	case "lead":
		path, body = path+"lead", map[string]any{"person": pos[1]}
	case "note":
		path, body = path+"notes", map[string]any{"text": strings.Join(pos[1:], " ")}
		if len(pos) < 2 {
			return usageError{"usage: klaxon note ID TEXT [--kind KIND]"}
		}
		if *kind != "" {
			body["kind"] = *kind
		}
	case "feedback":
		var yes bool
		switch strings.ToLower(pos[1]) {
		case "yes", "y":
			yes = true
		case "no", "n":
		default:
			return usageError{"usage: klaxon feedback ID yes|no [WHY]"}
		}
		path, body = path+"feedback", map[string]any{"actionable": yes}
		if why := strings.Join(pos[2:], " "); why != "" {
			body["why"] = why
		}
	default: // ack, unack, reopen, escalate
		path += name
	}
	return c.act(ctx, path, body)
}

// act POSTs an action and prints what happened.
func (c *apiClient) act(ctx context.Context, path string, body map[string]any) error {
	var raw json.RawMessage
	if err := c.do(ctx, "POST", path, body, &raw); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	var ans struct {
		Message string `json:"message"`
		Hint    string `json:"hint"`
	}
	json.Unmarshal(raw, &ans)
	fmt.Fprintln(c.stdout, ans.Message)
	if ans.Hint != "" {
		fmt.Fprintln(c.stdout, ans.Hint)
	}
	return nil
}

func (c *apiClient) list(ctx context.Context, state string, limit int) error {
	if limit < 1 || limit > incidents.MaxListLimit {
		return usageError{fmt.Sprintf("--limit must be 1 to %d", incidents.MaxListLimit)}
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if state != "" && state != "all" {
		q.Set("state", state)
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/v1/incidents?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	var page struct {
		Incidents []incidents.Incident `json:"incidents"`
		Next      string               `json:"next_before"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return err
	}
	if len(page.Incidents) == 0 {
		fmt.Fprintf(c.stdout, "No incidents (%s).\n", state)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEV\tSTATE\tOPEN\tTEAM\tTITLE")
	for _, inc := range page.Incidents {
		age := templates.Duration(now.Sub(inc.CreatedAt))
		if inc.State == incidents.Resolved {
			age = "lasted " + templates.Duration(inc.ResolvedAt.Sub(inc.CreatedAt))
		}
		state := string(inc.State)
		if inc.AckedBy != "" && inc.State == incidents.Acknowledged {
			state += " by " + inc.AckedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.Severity, state, age, dash(inc.Team), oneLine(inc.Title, 80))
	}
	tw.Flush()
	if page.Next != "" {
		fmt.Fprintf(c.stdout, "… more: klaxon list --limit %d (or the API's ?before=%s)\n", incidents.MaxListLimit, page.Next)
	}
	return nil
}

func (c *apiClient) show(ctx context.Context, id string) error {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return usageError{incidents.ErrorMessage(err)}
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/v1/incidents/"+id, nil, &raw); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	var inc incidents.Incident
	if err := json.Unmarshal(raw, &inc); err != nil {
		return err
	}
	now := time.Now()
	w := c.stdout
	fmt.Fprintf(w, "%s · %s\n", inc.ID, oneLine(inc.Title, 200))
	fmt.Fprintf(w, "%s · %s · opened %s ago · %d firing, %d resolved\n", templates.StateWord(inc.State), inc.Severity,
		templates.Duration(now.Sub(inc.CreatedAt)), inc.AlertsFiring, inc.AlertsResolved)
	for _, l := range [][2]string{{"Team", inc.Team}, {"Acknowledged by", inc.AckedBy}, {"Resolved by", inc.ResolvedBy},
		{"Incident commander", inc.Lead}, {"Scribe", inc.Roles[incidents.RoleScribe]}, {"Comms", inc.Roles[incidents.RoleComms]},
		{"Summary", oneLine(inc.Summary, 300)}} {
		if l[1] != "" {
			fmt.Fprintf(w, "%s: %s\n", l[0], l[1])
		}
	}
	if len(inc.Alerts) > 0 {
		fmt.Fprintln(w, "\nAlerts:")
		for i, a := range inc.Alerts {
			if i == 10 {
				fmt.Fprintf(w, "  … %d more (klaxon show %s -o json)\n", len(inc.Alerts)-10, inc.ID)
				break
			}
			line := "  " + string(a.Status) + "  " + oneLine(a.Name(), 60)
			if s := a.Annotations["summary"]; s != "" {
				line += " — " + oneLine(s, 100)
			}
			fmt.Fprintln(w, line)
		}
	}
	if n := len(inc.Timeline); n > 0 {
		fmt.Fprintln(w, "\nTimeline (UTC):")
		from := max(0, n-15)
		if from > 0 {
			fmt.Fprintf(w, "  … %d earlier events (klaxon postmortem %s)\n", from, inc.ID)
		}
		for _, e := range inc.Timeline[from:] {
			fmt.Fprintf(w, "  %s  %s\n", e.At.UTC().Format("01-02 15:04"), oneLine(e.Text, 200))
		}
	}
	return nil
}

// silences prints the active silences klaxon made (of one team).
func (c *apiClient) silences(ctx context.Context, team string) error {
	path := "/api/v1/silences"
	if team != "" {
		path += "?team=" + url.QueryEscape(team)
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", path, nil, &raw); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	var ans struct {
		Silences []struct {
			ID, Incident, Team, Matchers, CreatedBy string
			EndsAt                                  time.Time
		} `json:"silences"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return err
	}
	if len(ans.Silences) == 0 {
		fmt.Fprintln(c.stdout, "No silences of klaxon's are active.")
		return nil
	}
	for _, s := range ans.Silences {
		fmt.Fprintf(c.stdout, "%s  %s  %s  until %s  by %s  %s\n", s.ID, s.Incident, s.Team,
			s.EndsAt.Local().Format("Mon Jan 2 15:04 MST"), s.CreatedBy, s.Matchers)
	}
	return nil
}

func (c *apiClient) oncall(ctx context.Context, team string) error {
	path := "/api/v1/oncall"
	if team != "" {
		path += "?team=" + url.QueryEscape(team)
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", path, nil, &raw); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(raw)
	}
	var ans struct {
		Oncall []struct {
			Team, Schedule string
			Now, Next      *struct {
				Person      string
				From, Until time.Time
			}
			Overrides []struct {
				Person, SetBy string
				Until         time.Time
			}
		} `json:"oncall"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return err
	}
	if len(ans.Oncall) == 0 {
		fmt.Fprintln(c.stdout, "No team has an on-call schedule (teams[].schedule).")
		return nil
	}
	for i, o := range ans.Oncall {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "%s (schedule %s)\n", o.Team, o.Schedule)
		if o.Now != nil {
			fmt.Fprintf(c.stdout, "  now:  %s, until %s\n", o.Now.Person, o.Now.Until.Local().Format("Mon Jan 2 15:04 MST"))
		} else {
			fmt.Fprintln(c.stdout, "  now:  nobody")
		}
		if o.Next != nil {
			fmt.Fprintf(c.stdout, "  next: %s, from %s\n", o.Next.Person, o.Next.From.Local().Format("Mon Jan 2 15:04 MST"))
		}
		for _, ov := range o.Overrides {
			fmt.Fprintf(c.stdout, "  override: %s until %s (set by %s)\n", ov.Person, ov.Until.Local().Format("Mon Jan 2 15:04 MST"), ov.SetBy)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine is s on one line, cut to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
