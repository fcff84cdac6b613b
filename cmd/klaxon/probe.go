package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// probe GETs a URL and fails unless it answers 2xx within 3 s: a health
// check for images without a shell or curl (the Dockerfile's HEALTHCHECK).
func probe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("probe", stderr)
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pos[0], nil)
	if err != nil {
		return usageError{fmt.Sprintf("probe %q: %v", pos[0], err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", pos[0], resp.Status)
	}
	return nil
}
