package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Act asks the daemon whose control endpoint is at addr (as Listen takes
// it) to take an action: it reads this start's action token (GET
// PathToken), then POSTs req as JSON to path (PathRetry, PathForget,
// PathPause, PathResume) with the token in TokenHeader. The error wraps
// ErrNotRunning when nothing answers at addr.
func Act(ctx context.Context, addr, path string, req any) (ActionResult, error) {
	client := NewHTTPClient(addr)
	var tok struct{ Token string }
	if err := exchange(ctx, client, addr, http.MethodGet, PathToken, "", nil, &tok); err != nil {
		return ActionResult{}, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return ActionResult{}, err
	}
	var res ActionResult
	err = exchange(ctx, client, addr, http.MethodPost, path, tok.Token, body, &res)
	return res, err
}

// exchange sends one request to the endpoint and decodes its JSON answer
// into out; an answer that is not 200 is an error quoting it.
func exchange(ctx context.Context, client *http.Client, addr, method, path, token string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("ask the daemon: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("ask the daemon at %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the daemon at %s answered %s: %s", addr, resp.Status, strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the daemon at %s: read its answer to %s: %w", addr, path, err)
	}
	return nil
}
