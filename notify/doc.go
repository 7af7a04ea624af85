// Package notify tells people what tilesyncd did: it posts a message to
// each configured webhook for the events it subscribes to (a file
// uploaded, an upload failed, a change of health), as JSON or as a Slack
// incoming-webhook body.
//
// # Delivery
//
// Notify writes the event to the outbox (package state's, in the bbolt
// file) in one transaction, once per subscribed endpoint, and returns: it
// never waits for an endpoint, so a slow or failing one never slows an
// upload. Run delivers, one goroutine per endpoint, oldest first, in
// batches of at most Concurrency requests at once (a batch's slowest
// request, at most Timeout, holds the next), and deletes an entry once its
// endpoint answered 2xx. A failed attempt (a network error, a timeout, 5xx,
// 429, 408, or any 3xx and 4xx but 400, 413 and 422) is recorded with the
// entry, and the endpoint is tried again after a backoff that doubles from
// MinBackoff up to MaxBackoff, with jitter (a random half of it), or after
// the endpoint's Retry-After when that is longer (capped the same). 400,
// 413 and 422 refuse the message itself: it is dropped, and logged. The
// other endpoints go on meanwhile.
//
// Delivery is at least once: an entry leaves the outbox after its
// endpoint's answer, so a crash between the two sends it again at the next
// start. Every request carries the event's ID in an Idempotency-Key header
// (and in the JSON payload's "id"), by which a receiver can drop the
// repeat.
//
// The outbox is bounded: an endpoint keeps at most MaxPending entries
// (default 10,000); beyond that its oldest are dropped, with a warning in
// the log saying how many. Entries of an endpoint no longer configured are
// dropped, with a warning, when Run starts.
//
// # Secrets
//
// A payload holds the event's fields and nothing else: never the Mapbox
// token (Options.Secrets are replaced by [redacted] in every field, should
// a message quote one) nor an endpoint's URL. A webhook URL often is a
// credential itself (Slack's path, a ?token=…); logs and errors show it
// through hookurl.URL, with those parts [redacted]. The outbox stores
// entries under a hash of the URL, not the URL.
package notify
