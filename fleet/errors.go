package fleet

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// How the fleet words Redis' errors: with the URL that may be shown (no
// user information, no password, no query), never the password, and
// telling a Redis that does not answer from one that refused this node.

// noAnswer wraps the error of a Redis that did not answer, or refused.
func (f *Fleet) noAnswer(err error) error {
	err = redactErr(err, f.opts.Password)
	if refused(err) {
		return fmt.Errorf("fleet: Redis at %s refused this node (check fleet.password, the user and the database in the URL): %w", f.shownURL, err)
	}
	return fmt.Errorf("fleet: Redis at %s does not answer: %w", f.shownURL, err)
}

// refused reports whether Redis answered and refused this node: a wrong or
// missing password, a user without the right, no such database. Those are
// configuration errors that trying again does not mend; every other error
// (refused connections, timeouts, LOADING, BUSY…) may pass.
func refused(err error) bool {
	return redis.IsAuthError(err) || redis.IsPermissionError(err) ||
		redis.HasErrorPrefix(err, "AUTH") || redis.HasErrorPrefix(err, "invalid password") ||
		redis.HasErrorPrefix(err, "invalid username-password") || redis.HasErrorPrefix(err, "DB index")
}

// notJoined returns an error wrapping ErrUnreachable while this node has
// not reached Redis since Open, else nil: what needs Redis fails at once.
func (f *Fleet) notJoined(what string) error {
	f.mu.Lock()
	joined, last := f.joined, f.beatErr
	f.mu.Unlock()
	if joined {
		return nil
	}
	return fmt.Errorf("fleet: %s: %w: this node has not joined the fleet yet: %w", what, ErrUnreachable, last)
}

// redisErr wraps an error of a Redis call, without the password.
func (f *Fleet) redisErr(what string, err error) error {
	return fmt.Errorf("fleet: %s on Redis at %s: %w", what, f.shownURL, redactErr(err, f.opts.Password))
}

// redactURL returns scheme://host/path of a URL: never its user
// information, password or query.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// redactErr hides the password in an error's text, should a library ever
// repeat it, keeping the error for errors.Is and errors.As.
func redactErr(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return redactedError{err: err, text: strings.ReplaceAll(err.Error(), password, "[redacted]")}
}

type redactedError struct {
	err  error
	text string
}

func (r redactedError) Error() string { return r.text }
func (r redactedError) Unwrap() error { return r.err }
