package miniotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// certLifetime is how long a generated certificate is valid; it starts a few
// minutes in the past so that a clock step does not make it not yet valid.
const (
	certLifetime = 24 * time.Hour
	certBackdate = 5 * time.Minute
)

// writeCert generates a self-signed ECDSA P-256 certificate for 127.0.0.1
// and localhost, its own root (IsCA), and writes it as public.crt and its
// key as private.key (PKCS#8, "PRIVATE KEY") into a new folder certs in
// dir, the layout minio server --certs-dir expects. It returns that folder,
// the certificate's path and a pool that trusts it.
func writeCert(dir string) (certsDir, certFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", nil, fmt.Errorf("generate TLS serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "miniotest", Organization: []string{"tilesyncd tests"}},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, fmt.Errorf("create TLS certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, fmt.Errorf("parse TLS certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, fmt.Errorf("marshal TLS key: %w", err)
	}

	certsDir = filepath.Join(dir, "certs")
	if err := os.MkdirAll(certsDir, 0o700); err != nil {
		return "", "", nil, err
	}
	certFile = filepath.Join(certsDir, "public.crt")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", nil, err
	}
	keyFile := filepath.Join(certsDir, "private.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certsDir, certFile, pool, nil
}

// trustingClient returns an HTTP client like http.DefaultClient whose TLS
// trusts pool only.
func trustingClient(pool *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t}
}

// CAFile is the path of the PEM certificate a server started by StartTLS
// serves, which is its own root: trust it to talk to Endpoint (curl
// --cacert, SSL_CERT_FILE for a Go child process, or a pool for
// tls.Config.RootCAs). It is "" for a plain-HTTP server.
func (s *Server) CAFile() string { return s.caFile }

// HTTPClient is an HTTP client for Endpoint: for a StartTLS server its
// transport trusts CAFile's certificate (and nothing else); for a plain-HTTP
// server it is http.DefaultClient. Root and Mint use it (over TLS).
func (s *Server) HTTPClient() *http.Client { return s.httpClient }
