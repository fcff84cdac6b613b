package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"default", "payments", "platform", "serve", "check-config"}
	for _, c := range []struct{ in, want string }{
		{"defualt", "default"}, // a transposition
		{"DEFAULT", "default"},
		{"paymnts", "payments"},
		{"serv", "serve"},
		{"check-confg", "check-config"},
		{"xyz", ""},
		{"pay", ""}, // too far for its length
		{"", ""},
	} {
		if got := Closest(c.in, names); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHint(t *testing.T) {
	if got := Hint("defualt", []string{"default", "urgent"}); got != ` (did you mean "default"?)` {
		t.Errorf("got %q", got)
	}
	if got := Hint("zzz", []string{"default", "urgent"}); got != " (choose from default, urgent)" {
		t.Errorf("got %q", got)
	}
	if got := Hint("zzz", nil); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"ab", "ba", 1}, {"défaut", "defaut", 1}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
