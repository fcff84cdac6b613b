package bot

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

func heldIncidents(n int, title string) []*incidents.Incident {
	var out []*incidents.Incident
	for i := range n {
		out = append(out, &incidents.Incident{ID: fmt.Sprintf("INC-%d", 43+i), Team: "payments", Severity: incidents.Sev1, Title: title})
	}
	return out
}

// The digest names what fits and counts the rest; the count is always there.
func TestDigest(t *testing.T) {
	for _, tc := range []struct {
		n, most, budget int
		title, want     string
	}{
		{0, 3, 200, "Disk full", ""},
		{1, 3, 200, "Disk full", "klaxon: 1 more incident for you: INC-43 payments SEV1 Disk full"},
		{2, 3, 200, "Disk full", "klaxon: 2 more incidents for you: INC-43 payments SEV1 Disk full, INC-44 payments SEV1 Disk full"},
		{4, 3, 200, "Disk full", "klaxon: 4 more incidents for you: INC-43 payments SEV1 Disk full, INC-44 payments SEV1 Disk full, INC-45 payments SEV1 Disk full, +1 more"},
		{4, 3, 100, "Disk full", "klaxon: 4 more incidents for you: INC-43 payments SEV1 Disk full, +3 more"},
		{4, 3, 20, "Disk full", "klaxon: 4 more incidents for you"},
		{50, 10, 1000, "Disk full", ""},
	} {
		got := digest(heldIncidents(tc.n, tc.title), tc.most, tc.budget)
		if tc.want != "" && got != tc.want {
			t.Errorf("digest(%d, %d, %d) = %q, want %q", tc.n, tc.most, tc.budget, got, tc.want)
		}
		if tc.n > 0 && (!strings.HasPrefix(got, fmt.Sprintf("klaxon: %d more incident", tc.n)) || len(got) > max(tc.budget, 40)) {
			t.Errorf("digest(%d, %d, %d) = %q (%d bytes)", tc.n, tc.most, tc.budget, got, len(got))
		}
		if tc.n == 50 && (strings.Count(got, "INC-") != 10 || !strings.HasSuffix(got, ", +40 more")) {
			t.Errorf("50 held: %q", got)
		}
	}
	// Long titles are clipped, multibyte text stays valid.
	got := digest(heldIncidents(3, strings.Repeat("Plattenplatz überfüllt ", 20)), smsDigestItems, smsDigestBytes)
	if !utf8.ValidString(got) || len(got) > smsDigestBytes || !strings.Contains(got, "…") {
		t.Errorf("long titles: %q (%d bytes)", got, len(got))
	}
	// The e-mail's reason stays within what the mail shows.
	inc := &incidents.Incident{ID: "INC-42", Team: "payments"}
	if r := mailReason(inc, heldIncidents(20, "Disk full")); len(r) > 300 || !strings.Contains(r, "klaxon: 20 more incidents for you: INC-43") {
		t.Errorf("mail reason %q (%d)", r, len(r))
	}
	if got := spokenDigest(heldIncidents(4, "x")); got != " There are 4 more incidents for you, the first INC-43." {
		t.Errorf("spoken %q", got)
	}
}

func TestThrottleLimitWords(t *testing.T) {
	d := defaultThrottles()
	for l, want := range map[ThrottleLimit]string{d.SMS: "1 a minute", d.Call: "3 in 15m", d.Push: "5 a minute",
		{Count: 2, Per: Duration(90_000_000_000)}: "2 in 1m30s", {Count: 4, Per: Duration(3_600_000_000_000)}: "4 an hour",
		{Count: 4, Per: Duration(7_200_000_000_000)}: "4 in 2h"} {
		if got := l.String(); got != want {
			t.Errorf("%+v: %q, want %q", l, got, want)
		}
	}
}
