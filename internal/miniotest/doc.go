// Package miniotest runs a real MinIO server for tests: the S3 that the
// staging tests write to and that mapboxsim mints Mapbox-style credentials
// from.
//
// Start(tb) starts one server for one test; Shared(tb) returns one server for
// the whole test binary when the package's TestMain is
//
//	func TestMain(m *testing.M) { miniotest.Main(m) }
//
// Either way the server listens on free loopback ports, keeps its data and its
// output in a temporary directory, has random root credentials and an existing
// bucket (DefaultBucket), and is ready when returned: Start polls MinIO's
// /minio/health/live and then creates the bucket, with a deadline and a short
// poll tick. It is stopped with SIGTERM, then SIGKILL after a grace period, and
// waited for; on Linux the kernel also kills it if the test binary dies
// without cleaning up. MinIO's output is shown when a test failed.
//
// The binary is $TILESYNCD_MINIO, else the cached build in
// ${TILESYNCD_CACHE:-$HOME/.cache/tilesyncd}/bin/minio, else the one
// scripts/minio.sh (found from the module root) builds, which takes about five
// minutes once per machine. Under -short nothing is built: tests skip when no
// binary is at hand (and run against a cached one).
//
// StartTLS(tb) starts one server on HTTPS instead, with a self-signed
// certificate generated in Go for that server (ECDSA P-256, SANs 127.0.0.1
// and localhost, valid 24 hours, its own root), written as public.crt and
// private.key (PKCS#8) into a certs folder of its temporary directory and
// passed as minio server --certs-dir. CAFile is that certificate's path for
// other clients to trust (curl --cacert, SSL_CERT_FILE for a Go child
// process); HTTPClient is a client that trusts it, and the server's own
// clients (Root, STS, the readiness probe) use it. It exists for what plain
// HTTP cannot show: over HTTPS aws-sdk-go-v2 sends payloads unsigned, with a
// trailing CRC32 (aws-chunked), as it does to AWS S3, where over HTTP it
// signs each payload with one more SHA-256 pass that MinIO then verifies.
// Start and Shared stay on plain HTTP.
//
// A Server implements mapboxsim.Storage. Mint calls MinIO's STS AssumeRole
// with the root credentials and an inline session policy that allows only
// StagingActions (PUT, multipart, abort, list parts) on exactly bucket/key,
// like the credentials Mapbox hands out; MinIO enforces it (a PUT to another
// key or a GET is AccessDenied, and a wrong session token is InvalidTokenId,
// which the tests check). STS will not issue credentials for less than 15
// minutes, so tests cannot watch credentials expire: they corrupt the session
// token instead. Root gives an all-powerful S3 client for assertions, with
// Parts and MultipartUploads as shortcuts.
//
// Caveats: a shared server is shared state, so tests must use keys of their
// own; the free ports are chosen before MinIO binds them, and a start that
// loses that race is retried with new ports. Over HTTPS the SDK sends a whole
// PUT or part as one aws-chunked chunk, and MinIO refuses chunks above 16 MiB
// (400 "chunk too big"), which AWS S3 accepts: against a StartTLS server, a
// checksummed single PUT or part must be at most 16 MiB.
package miniotest
