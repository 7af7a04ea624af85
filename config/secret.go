package config

// Secret holds a credential. Its String and GoString print [redacted], so a
// Secret formatted by accident (%v, %+v, slog) never shows its value; Reveal is
// the one way to read it, used where the value goes on the wire.
type Secret struct{ value string }

// NewSecret wraps a credential.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no credential is set.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalText keeps encoders (JSON, YAML, slog's JSON handler) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
