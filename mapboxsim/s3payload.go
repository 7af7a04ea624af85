package mapboxsim

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// The body of an S3 write is either plain bytes or aws-chunked framing:
//
//	STREAMING-AWS4-HMAC-SHA256-PAYLOAD:      "<hex size>;chunk-signature=<sig>\r\n<bytes>\r\n" ... "0;chunk-signature=<sig>\r\n\r\n"
//	STREAMING-UNSIGNED-PAYLOAD-TRAILER:      "<hex size>\r\n<bytes>\r\n" ... "0\r\n<trailer>: <value>\r\n\r\n"
//	STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: both, plus x-amz-trailer-signature
//
// Checksums (x-amz-checksum-<algorithm>) come as headers or trailers; both
// are verified, like Content-MD5. Chunk signatures are not verified.

// chunkedReader decodes aws-chunked framing.
type chunkedReader struct {
	br       *bufio.Reader
	left     int64 // bytes left in the current chunk
	needCRLF bool
	done     bool
	trailers http.Header
}

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{br: bufio.NewReaderSize(r, 64<<10), trailers: http.Header{}}
}

var errFraming = errors.New("malformed aws-chunked body")

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if c.needCRLF {
			line, err := c.line()
			if err != nil || line != "" {
				return 0, errFraming
			}
			c.needCRLF = false
		}
		line, err := c.line()
		if err != nil {
			return 0, errFraming
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return 0, errFraming
		}
		if size == 0 {
			if err := c.readTrailers(); err != nil {
				return 0, err
			}
			c.done = true
			return 0, io.EOF
		}
		c.left = size
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.left == 0 {
		c.needCRLF = true
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// line reads one CRLF-terminated line, without the CRLF.
func (c *chunkedReader) line() (string, error) {
	s, err := c.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r"), nil
}

// readTrailers reads "name:value" lines up to an empty line or the end.
func (c *chunkedReader) readTrailers() error {
	for {
		line, err := c.line()
		if errors.Is(err, io.EOF) || (err == nil && line == "") {
			return nil
		}
		if err != nil {
			return errFraming
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return errFraming
		}
		c.trailers.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)), strings.TrimSpace(value))
	}
}

// checksumAlgorithms maps x-amz-checksum-<name> to its hash.
var checksumAlgorithms = map[string]func() hash.Hash{
	"crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"crc64nvme": func() hash.Hash { return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)) },
	"sha1":      sha1.New,
	"sha256":    sha256.New,
}

// payload is an incoming write body being read and hashed.
type payload struct {
	r        io.Reader
	chunked  *chunkedReader
	header   http.Header
	md5      hash.Hash
	sums     map[string]hash.Hash // by algorithm name
	n        int64
	declared int64 // x-amz-decoded-content-length, -1 if absent
}

// newPayload prepares to read r's body, decoding aws-chunked framing.
func newPayload(r *http.Request) *payload {
	p := &payload{header: r.Header, md5: md5.New(), sums: map[string]hash.Hash{}, declared: -1}
	sha := r.Header.Get("X-Amz-Content-Sha256")
	if strings.HasPrefix(sha, "STREAMING-") || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		p.chunked = newChunkedReader(r.Body)
		p.r = p.chunked
		if v, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64); err == nil {
			p.declared = v
		}
	} else {
		p.r = r.Body
	}
	names := []string{}
	for h := range r.Header {
		if name, ok := strings.CutPrefix(strings.ToLower(h), "x-amz-checksum-"); ok {
			names = append(names, name)
		}
	}
	for _, t := range strings.Split(r.Header.Get("X-Amz-Trailer"), ",") {
		if name, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(t)), "x-amz-checksum-"); ok {
			names = append(names, name)
		}
	}
	for _, name := range names {
		if newHash, ok := checksumAlgorithms[name]; ok {
			p.sums[name] = newHash()
		}
	}
	return p
}

func (p *payload) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.md5.Write(b[:n])
	for _, h := range p.sums {
		h.Write(b[:n])
	}
	p.n += int64(n)
	return n, err
}

// verify checks, once the body has been read, its length and checksums. It
// returns the S3 error to answer, or nil.
func (p *payload) verify() *s3Error {
	if p.declared >= 0 && p.declared != p.n {
		return &s3Error{http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	}
	if want := p.header.Get("Content-Md5"); want != "" && want != base64.StdEncoding.EncodeToString(p.md5.Sum(nil)) {
		return &s3Error{http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received."}
	}
	for name, h := range p.sums {
		key := "X-Amz-Checksum-" + name
		want := p.header.Get(key)
		if p.chunked != nil && p.chunked.trailers.Get(key) != "" {
			want = p.chunked.trailers.Get(key)
		}
		if want == "" {
			return &s3Error{http.StatusBadRequest, "InvalidRequest", fmt.Sprintf("x-amz-checksum-%s was announced but not sent.", name)}
		}
		if want != base64.StdEncoding.EncodeToString(h.Sum(nil)) {
			return &s3Error{http.StatusBadRequest, "BadDigest", fmt.Sprintf("The %s you specified did not match the calculated checksum.", strings.ToUpper(name))}
		}
	}
	return nil
}

// checksumHeaders are the verified checksums, to echo in the answer.
func (p *payload) checksumHeaders(h http.Header) {
	for name, sum := range p.sums {
		h.Set("X-Amz-Checksum-"+name, base64.StdEncoding.EncodeToString(sum.Sum(nil)))
	}
}
