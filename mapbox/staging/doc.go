// Package staging uploads a file to the S3 bucket/key of Mapbox's temporary
// staging credentials, resumably, and tells the caller what it did.
//
// A Stager holds the settings (endpoint, part size, parts in parallel, the
// single-PUT threshold, the checksum setting, the HTTP client) and stages with
// aws-sdk-go-v2's S3 client built per call from the credentials given, in
// us-east-1, path-style when an endpoint is set.
//
// # Single PUT and multipart
//
// A file below MultipartThreshold (64 MiB) goes in one PUT. A larger one goes
// in a multipart upload of PartSize parts (16 MiB, raised as needed so that
// the file fits in S3's 10,000 parts: a 25 GB MBTiles still uses 16 MiB
// parts), Concurrency (4) at a time. One goroutine reads the file once, in
// order, into at most Concurrency part buffers and hashes every byte with
// SHA-256; workers send the buffers and hand them back. Memory is therefore
// about Concurrency × PartSize for a multipart upload, and the file's size
// (below the threshold) for a single PUT: about 64 MiB with the defaults,
// whatever the file's size. BenchmarkStage measures it.
//
// # Resuming
//
// Stage reports a new multipart upload through Hooks.OnMultipartStarted
// before sending any part, and each part S3 accepted through Hooks.OnPart:
// the caller persists the Multipart value (it marshals to JSON) and passes it
// back to Stage after a restart. Stage then lists the parts S3 holds for the
// upload and trusts that list over the saved one (a crash between a part and
// its OnPart leaves S3 ahead). A part S3 holds is reused when it has the
// right size and, where its ETag is an MD5, when that matches the bytes of
// the file now: parts of a file that changed since are sent again. Reused
// parts are read and hashed but not sent, so Result.SHA256 always covers the
// whole object. Then Stage completes the upload.
//
// A resume state that does not fit (another key, another size, another
// checksum setting, an upload S3 no longer knows) leads to a new upload,
// with the reason in Result.StartedOver; the old upload is aborted when
// possible. Expired credentials make a resume impossible, since credentials
// are per key: Stage returns an error wrapping mapbox.ErrCredentialsExpired
// and the caller fetches new credentials and stages from scratch.
//
// Stage never aborts an upload on failure or cancellation (that would make it
// unresumable); Abort drops one the caller gives up on.
//
// # Errors
//
// Every error wraps one of mapbox's error classes, decided in one place
// (classify): ExpiredToken, InvalidToken, InvalidTokenId, SignatureDoesNotMatch,
// AccessDenied and other 403s, and InvalidAccessKeyId with a session token are
// mapbox.ErrCredentialsExpired; 5xx, throttling, timeouts and connection
// errors are mapbox.ErrTransient; other 4xx are mapbox.ErrInvalid. AccessDenied
// is counted as expired because these credentials grant exactly the key
// written: new credentials are the one remedy, where ErrInvalid would drop the
// file (see credentialCodes). Local file errors (missing, unreadable, shrunk
// while staging) wrap mapbox.ErrTransient and the *fs.PathError. The one
// exception is cancellation: when the caller's context is done, the error
// wraps its error (context.Canceled) and no class.
//
// The SDK retries each call (3 attempts by default, RetryMaxAttempts) on 5xx,
// throttling and connection errors; it does not retry 4xx answers, so a
// credentials error costs one request.
//
// # Checksums
//
// ChecksumWhenSupported (the SDK's default since 2025) sends a CRC32 with
// every PUT and part, and creates multipart uploads with ChecksumAlgorithm
// CRC32 so that S3 checks each part and the completion lists the parts'
// checksums. ChecksumWhenRequired sends none, for S3-compatible servers that
// reject the newer headers. Both are tested against MinIO. An upload is
// resumed only with the setting it was created with.
//
// # Progress
//
// Hooks.OnProgress reports the bytes that reached the wire (counted as the
// HTTP transport reads each request body, restarted when the SDK retries a
// part) plus the parts reused, at most every MiB or 250 ms and once at the
// end; it never goes back. The hooks are never called concurrently.
//
// # Bandwidth
//
// Options.BandwidthLimit caps the bytes per second a Stager sends: a rate,
// or a weekly timetable in the manner of rclone's --bwlimit (package
// internal/bwlimit). One token bucket (golang.org/x/time/rate) per Stager
// is shared by every part in flight of every Stage call at once. Request
// bodies are read in chunks of a tenth of a second's worth (1 to 64 KiB),
// each handed to the transport once the bucket grants it, so a 16 MiB part
// goes as a steady stream, and a slow rate does not leave a connection idle
// long enough for S3 to drop it. The timetable's changes apply from the
// next chunk on; BandwidthLimit tells the limit in force and until when,
// SetBandwidthLimit replaces it. Only request bodies count (not headers,
// nor answers), and a part the SDK sends again counts again.
// BenchmarkBandwidthCap measures a 512 MiB staging under a 20 MiB/s cap.
//
// # Caveats
//
//   - A part is checked against the file by its ETag only where S3 makes the
//     ETag the part's MD5, which SSE-KMS and SSE-C encryption do not: if the
//     staging bucket used them, every resumed part would look changed and be
//     sent again (correct, but no saving).
//   - If the credentials may PUT but not list parts (Mapbox does not document
//     its policy), ListParts is AccessDenied and the saved list is trusted;
//     Complete then fails, and the caller starts over, if the list was wrong.
//   - An upload completed just before a crash is gone on resume
//     (NoSuchUpload): Stage sends the file again.
//   - Stage reads the file up to the size it had when it began and does not
//     watch it; a shrunk file is a read error, other changes show in
//     Result.SHA256 for the caller to compare.
//   - Over plain HTTP (a test endpoint) the SDK signs the payload, hashing
//     every part once more; over HTTPS it sends it unsigned with a trailing
//     checksum.
package staging
