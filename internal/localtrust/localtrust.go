// Package localtrust decides what a klaxon that has no credentials
// configured lets in from its own machine, so that `klaxon serve` on a
// laptop works with no config without opening it to everyone else.
//
// "Reaches the loopback address" is not proof that a request comes from
// this machine's user: a web page in the user's browser can send requests
// to 127.0.0.1 (a form or fetch from another site, or DNS rebinding, where
// another site's name resolves to 127.0.0.1), and a reverse proxy on the
// same host forwards the whole internet from a loopback address. So:
//
//   - Reading, and sending alerts to a hook without credentials, is let in
//     when Request holds: a loopback peer, no proxy's forwarding headers,
//     a Host that names this machine (DNS rebinding sends the other site's
//     name), and no sign of another site's page (Origin, Sec-Fetch-Site).
//   - Acting on incidents (and the console's local sign-in) also needs the
//     local token: a random secret that `klaxon serve` keeps in a file only
//     this machine's user can read (TokenPath), which the CLI reads and
//     sends, and which serve prints once as the console's link. A page of
//     another site cannot read it, a proxy does not add it.
//
// A klaxon with a public URL or trusted proxies configured is served
// through something: it trusts nothing local (the callers check).
package localtrust

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// forwarding are the headers a proxy adds: a request that carries one
// came through something that may take requests from anywhere.
var forwarding = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "Via"}

// Request reports whether r came straight from this machine and not from
// a page of another site: its peer is a loopback address, it carries no
// proxy's forwarding header, its Host names this machine, its Origin (if
// any) is on this machine, and its Sec-Fetch-Site (if any) is none or
// same-origin.
func Request(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, h := range forwarding {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	if !LoopbackHost(r.Host) {
		return false
	}
	if o := r.Header.Values("Origin"); len(o) > 0 {
		if len(o) > 1 {
			return false
		}
		u, err := url.Parse(o[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !LoopbackHost(u.Host) {
			return false // "null" (a sandboxed page, a file) included
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "none", "same-origin":
		return true
	}
	return false
}

// LoopbackHost reports whether a host (with or without a port, as a Host
// header has it) names this machine: localhost or a loopback address.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TokenPath is where the local token of a klaxon listening on port is kept
// for this machine's user: klaxon/local-PORT.token in the user's config
// directory (~/.config on Linux, $XDG_CONFIG_HOME when set).
func TokenPath(port string) (string, error) {
	if port == "" || strings.ContainsAny(port, `/\.`) {
		return "", fmt.Errorf("localtrust: bad port %q", port)
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "klaxon", "local-"+port+".token"), nil
}

// tokenLen is the token's length in hex digits (256 bits).
const tokenLen = 64

// Ensure returns the token kept at path, making one (and its directory)
// when there is none: readable by this user only, written whole or not
// at all.
func Ensure(path string) (string, error) {
	if t, err := Read(path); err == nil {
		return t, nil
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errMalformed) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	b := make([]byte, tokenLen/2)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".local-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.WriteString(t + "\n"); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return t, nil
}

var errMalformed = errors.New("localtrust: the token file is malformed")

// Read returns the token kept at path. A file that others may read is
// refused: its token proves nothing.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s may be read by other users (mode %v): remove it and restart klaxon serve", path, st.Mode().Perm())
	}
	b := make([]byte, tokenLen+2)
	n, _ := f.Read(b)
	t := strings.TrimSpace(string(b[:n]))
	if len(t) != tokenLen {
		return "", fmt.Errorf("%w: %s", errMalformed, path)
	}
	if _, err := hex.DecodeString(t); err != nil {
		return "", fmt.Errorf("%w: %s", errMalformed, path)
	}
	return t, nil
}

// Equal compares a presented token with the local one in constant time;
// an empty local token matches nothing.
func Equal(presented, local string) bool {
	return local != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(local)) == 1
}
