// Package hookurl holds a webhook's URL, which often is its credential, and
// prints it without the parts that are.
//
// A webhook URL may carry a password in its user information, a token or
// a signature in its query (?token=…, ?key=…&token=… for Google Chat,
// ?sig=… for Azure), or a secret in its path: Slack's
// /services/T…/B…/<secret>, Discord's /api/webhooks/<id>/<token>, a
// Mattermost /hooks/<key>. URL.String shows the scheme, the host and the
// path with those removed:
//
//	https://[redacted]@hooks.example.org/tilesyncd?token=[redacted]
//	https://hooks.slack.com/services/T0001/B0002/[redacted]
//
// Every query value is hidden, whatever its name; a path segment is hidden
// when it looks like a secret: 16 characters or more with both letters and
// digits, or 32 or more of any kind, and so is the last segment of a Slack
// URL (hooks.slack.com). The rule is a heuristic: a secret shorter than
// that, or all letters, shows elsewhere. Redact removes the same
// secrets from any text (an error that quotes the URL), where they are 4
// characters or more.
package hookurl
