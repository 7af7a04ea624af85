// Package mapboxsim is a faithful fake of the Mapbox Uploads API and of the
// Mapbox Tiling Service (MTS) for tests, benchmarks and tilesyncd's demo,
// plus MemStorage, an in-process S3-compatible store to stage files to when
// no MinIO is at hand.
//
//	store, _ := mapboxsim.NewMemStorage(mapboxsim.MemOptions{})  // or a MinIO Storage
//	srv := mapboxsim.New(mapboxsim.Options{Username: "alice", Storage: store})
//	defer srv.Close(); defer store.Close()
//	client, _ := mapbox.New(mapbox.Options{BaseURL: srv.URL(), Username: "alice", Token: srv.Token()})
//
// In a test, StartMem(t, opts) does the first three lines with cleanup.
//
// # What the server reproduces
//
// Every request is checked in Mapbox's order: the path (404), the token
// (401 "Not Authorized - No Token" / "- Invalid Token"), the rate limit (429),
// the account in the path (401), the scope (404 "Not Found": Mapbox hides
// what a token may not see, which is why its clients read a 404 on
// credentials as a missing uploads:write scope). AddToken adds tokens with
// chosen scopes; AddAccountToken tokens of another account.
//
// Credentials mints real temporary credentials of the Storage for a fresh key
// "_pending/{username}/{random}" and answers Mapbox's shape, with url
// "https://{bucket}.s3.amazonaws.com/{key}"; Create maps that url back to the
// key. Create validates the body (unknown properties, the Python SDK's
// tileset ID pattern ^[a-z0-9-_]{1,32}\.[a-z0-9-_]{1,32}$, the username
// prefix, name ≤ 64, a url into the staging bucket; 422 with a message),
// answers Options.BusyStatus (409 or 422) while another upload to the
// tileset is processing, then streams the staged object through SHA-256. A
// missing object still gives 201; the upload then fails with
// MissingObjectError, as Mapbox fails it asynchronously. Processing takes
// Options.ProcessingTime on the server clock (Options.Clock; clock.Manual
// drives it), progress rises linearly 0 → 1, and the outcome is success
// unless SetContentOutcome (by SHA-256, first) or SetOutcome (by tileset)
// named an error message. A failed upload shows complete false and its error.
// List answers newest first (reverse=true flips), limit 1..100 (default 10:
// Mapbox documents none, a small one catches clients that rely on it),
// capped at 1 MB of JSON (at least one upload a page). It pages as Mapbox
// documents for its list endpoints: when uploads remain after a page,
// whether the limit or the size cap ended it, the answer carries
// Link: <URL>; rel="next", the request's URL (without the token) with an
// opaque start cursor; no Link on the last page; a start the server does
// not know is 422 "Invalid start key". The cursor names the last upload of
// the page (deleted ones keep their place), so uploads created between two
// page fetches never shift the later pages: newest first they show only on
// a new first page, oldest first at the end of the walk. Delete answers 204
// once the upload has ended (succeeded or failed), 422 "still processing"
// before, 404 after.
//
// Every answer's Date header is the server clock (Options.Clock), set when
// the answer is made, so a client can learn a clock that is not its own.
//
// The rate limit (Options.RateLimit per RateWindow) is one window for the
// account, fixed by default or sliding. Every authenticated request counts,
// whatever the endpoint; requests refused with 429 do not count. The three
// X-Rate-Limit-* headers are on every authenticated answer when a limit is
// set; Retry-After only if Options.RetryAfter (Mapbox documents none).
// RateLimitFor(d) opens a 429 window: every authenticated request is
// refused, with the three headers and the window's end as the reset, until
// d has passed on the server clock.
//
// # Faults, settable at any time
//
// Before the request takes effect: FailNext (a burst of 5xx, per endpoint
// or all), SetFailureRate (a seeded random fraction of 5xx), DropNext
// (close the connection without an answer). After it took effect:
// FailAfterNext (the upload is created, the credentials minted, the delete
// done, but the client gets a 5xx) and DropAfterNext (the same, the answer
// lost with its connection); Request.RealStatus keeps the answer the client
// never saw. And GarbleNext (a 200 with an HTML body, as a captive portal
// answers), SetDelay (slow answers; real time), CorruptNextCredentials
// (credentials whose session token S3 rejects with InvalidToken; expiry
// proper comes from Options.CredentialLifetime and the store's clock, or
// MemStorage.ExpireCredentials), SetUnreachable (every connection closed)
// and RateLimitFor (above). Injected 5xx and drops that strike first come
// before the token check and are not rate-counted; after-effect faults let
// the request go the whole way, rate count included. Note that net/http
// sends a replayable request (a GET) again by itself when a reused
// connection is dropped: DropNext(ep, 1) or DropAfterNext(ep, 1) on status
// or list is absorbed; use 2 or more, or drop a POST.
//
// Requests, Counts and StatusCounts read the request log (the token is
// removed from it; a request whose connection was dropped is logged before
// the drop). Uploads lists every upload created, with the SHA-256 of its
// content, when it finished (Finished) and whether it succeeded (Complete),
// so a test can prove each file was uploaded exactly once. Holds(tileset)
// is the upload whose success came last for the tileset: what the tileset
// holds now, whatever the client heard. Since a create is refused while the
// tileset has an upload processing, the uploads of one tileset never
// overlap, and finish order is creation order.
//
// # The Mapbox Tiling Service
//
// Every route of the contract (shared/mapbox-tiling-service-api.md) lives
// below /tilesets/v1/ (files mts_*.go; Options.MTS configures it), checked
// in Mapbox's order: the path (404), the token (401), the endpoint's rate
// limit (429), the account in the path (401), the scope (403 "This
// endpoint requires a token with tilesets:write scope"). Sources and
// changesets take a multipart part "file" (400 without), are checked line
// by line as GeoJSON features (400 naming the line; a changeset line is a
// feature with an id or exactly {"id": …, "delete": true}), POST appends
// and PUT replaces; past MaxFiles, MaxFileSize or MaxSourceSize the answer
// carries "error" (422, or a 200 if asked). Their bytes are not kept: only
// each file's SHA-256 and the SHA-256 of all of a source's files in order.
// Recipes are validated by one validator (section 7) for create, PATCH and
// validateRecipe. Publish makes a job that stays queued at least
// QueueTime, then processes for ProcessingTime, one job of a tileset at a
// time in arrival order, on the server clock: jobs move when a request or
// an accessor looks (nothing runs in the background), so a clock.Manual
// drives them. A job reads its sources when it starts; a processing job
// (and a queued one under LockQueued) locks them: 409. A full publish
// supersedes the queued full publishes of its tileset unless FIFO; at most
// MaxQueued jobs wait per account. Outcomes: SetJobOutcome (per tileset),
// SetJobContentOutcome (per source SHA-256), and "No features in source
// data." for an empty source. Rate limits are per endpoint and minute,
// mapbox.MTSRateLimits unless Options.MTS says otherwise (publish: 2).
// Faults: those of every endpoint above, plus RateLimitMTSFor, StallJobs,
// SetLateDeletes and DropMidUpload. Records: MTSJobs, MTSHistory and
// HoldsMTS (what a tileset holds, with the SHA-256 each job built from),
// PublishCounts, SourceUploads, SourceSHA256.
//
// Not reproduced: TileJSON, tilesets made by uploads in the tileset list
// (they do exist for create and refuse MTS calls), the 2000-source cap.
//
// # MemStorage
//
// MemStorage implements Storage and serves, path-style, on 127.0.0.1, the S3
// subset a stager uses: PutObject, CreateMultipartUpload, UploadPart,
// ListParts (paginated), CompleteMultipartUpload, AbortMultipartUpload,
// HeadObject, GetObject (ranges), DeleteObject, with S3's XML errors and
// ETags (MD5 of the bytes; "md5-of-md5s-N" for multipart). Bodies may be
// plain or aws-chunked (STREAMING-UNSIGNED-PAYLOAD-TRAILER, which
// aws-sdk-go-v2 sends over TLS, and STREAMING-AWS4-HMAC-SHA256-PAYLOAD);
// x-amz-checksum-* headers and trailers (CRC32, CRC32C, CRC64NVME, SHA1,
// SHA256) and Content-MD5 are verified (BadDigest). Requests are
// authenticated: the access key must come from Mint (InvalidAccessKeyId),
// with its session token (400 InvalidToken), unexpired on the store's clock
// (400 ExpiredToken), for the minted key only (403 AccessDenied), and the
// SigV4 header signature must match (SignatureDoesNotMatch; verified with
// the SDK's own signer; chunk signatures and presigned URLs are not
// verified). Parts other than the last must reach MinPartSize (5 MiB by
// default, lower it for tests). Object bytes live in files under a
// directory; memory holds only the index. MemOptions.TLS serves HTTPS; give
// HTTPClient() to the S3 client.
package mapboxsim
