package mapboxsim

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	errExpiredToken  = &s3Error{http.StatusBadRequest, "ExpiredToken", "The provided token has expired."}
	errInvalidToken  = &s3Error{http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid."}
	errInvalidAccess = &s3Error{http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."}
	errSignature     = &s3Error{http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
)

// sigV4 is the parsed Authorization header of a SigV4 request.
type sigV4 struct {
	accessKey, scope, region, service string
	signedHeaders                     []string
	signature                         string
}

// parseAuthorization reads
// "AWS4-HMAC-SHA256 Credential=AK/date/region/s3/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (sigV4, bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigV4{}, false
	}
	var s sigV4
	for _, field := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Credential":
			parts := strings.Split(v, "/")
			if len(parts) != 5 {
				return sigV4{}, false
			}
			s.accessKey, s.region, s.service = parts[0], parts[2], parts[3]
		case "SignedHeaders":
			s.signedHeaders = strings.Split(v, ";")
		case "Signature":
			s.signature = v
		}
	}
	return s, s.accessKey != "" && s.signature != ""
}

// authorize checks a request's credentials: minted by Mint, with their
// session token, not expired (on the store's clock), for this key, and
// correctly signed (header-signed requests; presigned URLs and chunk
// signatures are not verified).
func (m *MemStorage) authorize(r *http.Request, key string) *s3Error {
	var ak, token string
	sig, signed := parseAuthorization(r.Header.Get("Authorization"))
	if signed {
		ak, token = sig.accessKey, r.Header.Get("X-Amz-Security-Token")
	} else if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		ak, _, _ = strings.Cut(cred, "/")
		token = r.URL.Query().Get("X-Amz-Security-Token")
	} else {
		return errAccessDenied
	}
	m.mu.Lock()
	c, ok := m.creds[ak]
	m.mu.Unlock()
	switch {
	case !ok:
		return errInvalidAccess
	case token != c.token:
		return errInvalidToken
	case !m.opts.Clock.Now().Before(c.expires):
		return errExpiredToken
	case key != c.key:
		return errAccessDenied
	}
	if signed && !verifySignature(r, sig, aws.Credentials{AccessKeyID: ak, SecretAccessKey: c.secret, SessionToken: c.token}) {
		return errSignature
	}
	return nil
}

// verifySignature signs a copy of r's signed parts with the secret, with
// aws-sdk-go-v2's own signer, and compares the signatures.
func verifySignature(r *http.Request, sig sigV4, creds aws.Credentials) bool {
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	req, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return false
	}
	req.Host = r.Host
	req.URL.RawPath = r.URL.RawPath
	for _, h := range sig.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		payloadHash = "UNSIGNED-PAYLOAD"
	}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, sig.service, sig.region, t,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		return false
	}
	got, ok := parseAuthorization(req.Header.Get("Authorization"))
	return ok && got.signature == sig.signature
}
