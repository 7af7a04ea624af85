package mapboxsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// feature is one line of line-delimited GeoJSON.
func feature(id int) string {
	return fmt.Sprintf(`{"type":"Feature","id":%d,"geometry":{"type":"Point","coordinates":[%d,1]},"properties":{}}`, id, id%180)
}

// features is n lines of line-delimited GeoJSON, from id first.
func features(first, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(feature(first + i))
		b.WriteByte('\n')
	}
	return b.String()
}

// multipartOf is a multipart/form-data body of one part named field.
func multipartOf(field, content string) (ctype, body string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile(field, "data.geojson.ld")
	io.WriteString(w, content)
	mw.Close()
	return mw.FormDataContentType(), buf.String()
}

// recipeOf is a one-layer recipe reading source src of alice.
func recipeOf(src string, minzoom, maxzoom int) string {
	return fmt.Sprintf(`{"version":1,"layers":{"parcels":{"source":"mapbox://tileset-source/alice/%s","minzoom":%d,"maxzoom":%d}}}`, src, minzoom, maxzoom)
}

// exchange is one raw request's answer: status, headers, decoded body.
type exchange struct {
	status int
	header http.Header
	body   any
	raw    string
}

// send makes one request with token, a body of content type ctype.
func send(t *testing.T, s *mapboxsim.Server, method, path, token, ctype, body string) exchange {
	t.Helper()
	url := s.URL() + path
	if token != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		url += sep + "access_token=" + token
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	x := exchange{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	json.Unmarshal(b, &x.body)
	return x
}

// step is one row of the conformance table. Rows run in order on one
// server: each builds on the state the rows before left.
type step struct {
	name    string
	advance time.Duration // the server clock moves first
	method  string
	path    string // "{job}" is the last jobId answered
	token   string // "" the all-scopes token; "-" none
	ctype   string
	body    string
	status  int
	// fields are top-level JSON fields the answer must have (numbers as
	// float64); contains, a substring of the raw body; length, of an array.
	fields   map[string]any
	contains string
	length   int
	headers  []string // headers that must be present
}

// TestMTSConformance walks the contract's section 8 list through raw HTTP:
// one table of requests and expected answers, longer than a screen
// because each row is one item of the list.
func TestMTSConformance(t *testing.T) {
	s, _, clock := newServer(t, mapboxsim.Options{MTS: mapboxsim.MTSOptions{MaxFiles: 3}})
	s.AddToken("pk.read", mapboxsim.ScopeTilesetsRead)
	s.AddAccountToken("bob", "pk.bob", mapboxsim.ScopeTilesetsWrite, mapboxsim.ScopeTilesetsRead, mapboxsim.ScopeTilesetsList)
	mpOK, bodyOK := multipartOf("file", features(1, 2))
	mpOne, bodyOne := multipartOf("file", features(3, 1))
	mpBad, bodyBad := multipartOf("file", feature(1)+"\n{\"type\":\"FeatureCollection\",\"features\":[]}\n")
	mpData, bodyData := multipartOf("data", features(1, 1))
	cset, bodyCset := multipartOf("file", feature(1)+"\n"+`{"id":2,"delete":true}`+"\n")
	n2, n1 := float64(len(features(1, 2))), float64(len(features(3, 1)))
	rc := recipeOf("parcels-src", 0, 12)
	inc := `{"version":1,"incremental":true,"layers":{"parcels":{"source":"mapbox://tileset-source/alice/parcels-src","minzoom":0,"maxzoom":12}}}`
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf(`"l%d":{"source":"mapbox://tileset-source/alice/parcels-src","minzoom":0,"maxzoom":1}`, i))
	}
	tooMany := `{"version":1,"layers":{` + strings.Join(many, ",") + `}}`
	src := "/tilesets/v1/sources/alice/parcels-src"
	steps := []step{
		// Token, account, scope, routes.
		{name: "no token", method: "GET", path: "/tilesets/v1/sources/alice", token: "-", status: 401, contains: "Not Authorized - No Token"},
		{name: "bad token", method: "GET", path: "/tilesets/v1/sources/alice", token: "pk.nope", status: 401, contains: "Invalid Token"},
		{name: "another account's path", method: "GET", path: "/tilesets/v1/sources/alice", token: "pk.bob", status: 401},
		{name: "scope named in a 403", method: "PUT", path: src, token: "pk.read", ctype: mpOK, body: bodyOK, status: 403,
			contains: "requires a token with tilesets:write scope"},
		{name: "unknown route", method: "GET", path: "/tilesets/v1/alice.parks/nothing", status: 404},
		{name: "tileset id with two dots", method: "POST", path: "/tilesets/v1/alice.a.b", body: "{}", status: 404},
		{name: "queue is PUT", method: "GET", path: "/tilesets/v1/queue", status: 404},
		// Sources.
		{name: "not multipart", method: "PUT", path: src, ctype: "application/json", body: "{}", status: 400, contains: "Expected 1 file named"},
		{name: "no part named file", method: "PUT", path: src, ctype: mpData, body: bodyData, status: 400, contains: "Expected 1 file named"},
		{name: "not line-delimited features", method: "PUT", path: src, ctype: mpBad, body: bodyBad, status: 400,
			contains: "Only GeoJSON features are allowed. Line 2"},
		{name: "bad source id", method: "PUT", path: "/tilesets/v1/sources/alice/bad.id", ctype: mpOK, body: bodyOK, status: 400},
		{name: "replace creates", method: "PUT", path: src, ctype: mpOK, body: bodyOK, status: 200,
			fields: map[string]any{"id": "mapbox://tileset-source/alice/parcels-src", "files": 1.0, "file_size": n2, "source_size": n2}},
		{name: "append", method: "POST", path: src, ctype: mpOne, body: bodyOne, status: 200,
			fields: map[string]any{"files": 2.0, "file_size": n1, "source_size": n2 + n1}},
		{name: "append a third", method: "POST", path: src, ctype: mpOne, body: bodyOne, status: 200, fields: map[string]any{"files": 3.0}},
		{name: "past MaxFiles", method: "POST", path: src, ctype: mpOne, body: bodyOne, status: 422, contains: `"error"`},
		{name: "replace resets", method: "PUT", path: src, ctype: mpOK, body: bodyOK, status: 200, fields: map[string]any{"files": 1.0, "source_size": n2}},
		{name: "retrieve", method: "GET", path: src, status: 200, fields: map[string]any{"files": 1.0, "size": n2, "size_nice": fmt.Sprintf("%dB", int(n2))}},
		{name: "retrieve missing", method: "GET", path: "/tilesets/v1/sources/alice/nope", status: 404},
		{name: "list", method: "GET", path: "/tilesets/v1/sources/alice", status: 200, length: 1, headers: []string{"X-Rate-Limit-Limit"}},
		{name: "list limit over 500", method: "GET", path: "/tilesets/v1/sources/alice?limit=501", status: 422},
		{name: "list limit not a number", method: "GET", path: "/tilesets/v1/sources/alice?limit=ten", status: 422},
		{name: "list unknown start", method: "GET", path: "/tilesets/v1/sources/alice?start=bm9wZQ", status: 422, contains: "Invalid start key"},
		// Recipes and tilesets.
		{name: "validate valid", method: "PUT", path: "/tilesets/v1/validateRecipe", body: rc, status: 200, fields: map[string]any{"valid": true}},
		{name: "validate missing source", method: "PUT", path: "/tilesets/v1/validateRecipe", body: recipeOf("nope", 0, 5), status: 200,
			fields: map[string]any{"valid": false}, contains: "does not exist"},
		{name: "validate accept_invalid_sources", method: "PUT", path: "/tilesets/v1/validateRecipe?accept_invalid_sources=true",
			body: recipeOf("nope", 0, 5), status: 200, fields: map[string]any{"valid": true}},
		{name: "create with minzoom > maxzoom", method: "POST", path: "/tilesets/v1/alice.parks", body: `{"name":"P","recipe":` + recipeOf("parcels-src", 14, 11) + `}`,
			status: 400, fields: map[string]any{"message": "Recipe is invalid."}, contains: "minzoom 14 cannot be larger than maxzoom 11"},
		{name: "create without name", method: "POST", path: "/tilesets/v1/alice.parks", body: `{"recipe":` + rc + `}`, status: 400},
		{name: "create", method: "POST", path: "/tilesets/v1/alice.parks", body: `{"name":"P","recipe":` + rc + `}`, status: 200,
			contains: "Successfully created empty tileset alice.parks."},
		{name: "create again", method: "POST", path: "/tilesets/v1/alice.parks", body: `{"name":"P","recipe":` + rc + `}`, status: 400, contains: "exists"},
		{name: "get recipe", method: "GET", path: "/tilesets/v1/alice.parks/recipe", status: 200, fields: map[string]any{"id": "alice.parks"}, contains: `"maxzoom":12`},
		{name: "patch 21 layers", method: "PATCH", path: "/tilesets/v1/alice.parks/recipe", body: tooMany, status: 400, contains: "at most 20 layers"},
		{name: "patch another account's source", method: "PATCH", path: "/tilesets/v1/alice.parks/recipe",
			body: strings.ReplaceAll(rc, "/alice/", "/bob/"), status: 400, contains: "does not belong to account 'alice'."},
		{name: "patch version 2", method: "PATCH", path: "/tilesets/v1/alice.parks/recipe", body: strings.Replace(rc, `"version":1`, `"version":2`, 1),
			status: 400, contains: "version must be 1"},
		{name: "patch recipe", method: "PATCH", path: "/tilesets/v1/alice.parks/recipe", body: rc, status: 204},
		{name: "patch info", method: "PATCH", path: "/tilesets/v1/alice.parks", body: `{"name":"Parks","private":false}`, status: 204},
		{name: "patch info with a recipe", method: "PATCH", path: "/tilesets/v1/alice.parks", body: `{"recipe":{}}`, status: 400},
		{name: "list tilesets", method: "GET", path: "/tilesets/v1/alice?visibility=public", status: 200, length: 1, contains: `"name":"Parks"`},
		{name: "no jobs yet", method: "GET", path: "/tilesets/v1/alice.parks/jobs", status: 404, contains: "alice.parks has no jobs."},
		{name: "publish-changesets, not incremental", method: "POST", path: "/tilesets/v1/alice.parks/publish-changesets",
			body: `{"layers":{"parcels":{"changeset":"mapbox://tileset-changeset/alice/c"}}}`, status: 404},
		// Jobs.
		{name: "publish", method: "POST", path: "/tilesets/v1/alice.parks/publish", status: 200, fields: map[string]any{"message": "Processing alice.parks"}},
		{name: "queued", method: "GET", path: "/tilesets/v1/alice.parks/jobs/{job}", status: 200, fields: map[string]any{"stage": "queued", "tilesetId": "alice.parks"}},
		{name: "global queue", method: "PUT", path: "/tilesets/v1/queue", status: 200, fields: map[string]any{"total": 1.0}},
		{name: "processing", advance: time.Second, method: "GET", path: "/tilesets/v1/alice.parks/jobs/{job}", status: 200, fields: map[string]any{"stage": "processing"}},
		{name: "replace a locked source", method: "PUT", path: src, ctype: mpOK, body: bodyOK, status: 409, contains: "Resource is locked and cannot be modified"},
		{name: "delete a locked source", method: "DELETE", path: src, status: 409},
		{name: "success", advance: 5 * time.Second, method: "GET", path: "/tilesets/v1/alice.parks/jobs/{job}", status: 200,
			fields: map[string]any{"stage": "success", "errors": []any{}}, contains: `"cu":`},
		{name: "list jobs", method: "GET", path: "/tilesets/v1/alice.parks/jobs?stage=success&limit=1", status: 200, length: 1},
		{name: "publish again", method: "POST", path: "/tilesets/v1/alice.parks/publish", status: 200},
		{name: "publish: 2 a minute", method: "POST", path: "/tilesets/v1/alice.parks/publish", status: 429,
			headers: []string{"X-Rate-Limit-Interval", "X-Rate-Limit-Limit", "X-Rate-Limit-Reset"}},
		// Changesets.
		{name: "incremental recipe", advance: time.Minute, method: "POST", path: "/tilesets/v1/alice.inc", body: `{"name":"I","recipe":` + inc + `}`, status: 200},
		{name: "never published", method: "POST", path: "/tilesets/v1/alice.inc/publish-changesets",
			body: `{"layers":{"parcels":{"changeset":"mapbox://tileset-changeset/alice/c"}}}`, status: 404},
		{name: "initial publish", method: "POST", path: "/tilesets/v1/alice.inc/publish", status: 200, fields: map[string]any{"incremental": "initial"}},
		{name: "changeset upload", advance: time.Minute, method: "PUT", path: "/tilesets/v1/changesets/alice/c", ctype: cset, body: bodyCset, status: 200,
			fields: map[string]any{"id": "mapbox://tileset-changeset/alice/c", "files": 1.0}},
		{name: "changeset without layers", method: "POST", path: "/tilesets/v1/alice.inc/publish-changesets", body: `{}`, status: 400},
		{name: "changeset layer not in recipe", method: "POST", path: "/tilesets/v1/alice.inc/publish-changesets",
			body: `{"layers":{"roads":{"changeset":"mapbox://tileset-changeset/alice/c"}}}`, status: 400},
		{name: "changeset missing", advance: time.Minute, method: "POST", path: "/tilesets/v1/alice.inc/publish-changesets",
			body: `{"layers":{"parcels":{"changeset":"mapbox://tileset-changeset/alice/none"}}}`, status: 400},
		{name: "publish changesets (2 a minute too)", advance: time.Minute, method: "POST", path: "/tilesets/v1/alice.inc/publish-changesets",
			body: `{"layers":{"parcels":{"changeset":"mapbox://tileset-changeset/alice/c"}}}`, status: 200},
		{name: "changeset job succeeds", advance: 6 * time.Second, method: "GET", path: "/tilesets/v1/alice.inc/jobs/{job}", status: 200, fields: map[string]any{"stage": "success"}},
		{name: "list changesets", method: "GET", path: "/tilesets/v1/changesets/alice", status: 200, length: 1},
		{name: "delete changeset", method: "DELETE", path: "/tilesets/v1/changesets/alice/c", status: 204},
		// Cleanup.
		{name: "delete source", method: "DELETE", path: src, status: 204},
		{name: "deleted source is gone", method: "GET", path: src, status: 404},
		{name: "publish with a missing source", method: "POST", path: "/tilesets/v1/alice.parks/publish", status: 400, contains: "does not exist"},
		{name: "delete tileset", method: "DELETE", path: "/tilesets/v1/alice.parks", status: 200},
		{name: "deleted tileset", method: "GET", path: "/tilesets/v1/alice.parks/recipe", status: 404},
	}
	job := ""
	for _, st := range steps {
		clock.Advance(st.advance)
		token := s.Token()
		switch st.token {
		case "-":
			token = ""
		case "":
		default:
			token = st.token
		}
		x := send(t, s, st.method, strings.ReplaceAll(st.path, "{job}", job), token, st.ctype, st.body)
		checkStep(t, st, x)
		if m, ok := x.body.(map[string]any); ok && m["jobId"] != nil {
			job = m["jobId"].(string)
		}
	}
	for _, r := range s.Requests() {
		if r.Query.Has("access_token") {
			t.Errorf("request log keeps the token: %+v", r)
		}
	}
	if got := s.Counts()[mapbox.EndpointPublish]; got != 5 {
		t.Errorf("Counts()[publish] = %d, want 5", got)
	}
}

func checkStep(t *testing.T, st step, x exchange) {
	t.Helper()
	if x.status != st.status {
		t.Errorf("%s: status %d (%s), want %d", st.name, x.status, x.raw, st.status)
		return
	}
	if st.contains != "" && !strings.Contains(x.raw, st.contains) {
		t.Errorf("%s: body %s, want it to contain %q", st.name, x.raw, st.contains)
	}
	if st.length > 0 {
		if a, ok := x.body.([]any); !ok || len(a) != st.length {
			t.Errorf("%s: body %s, want an array of %d", st.name, x.raw, st.length)
		}
	}
	m, _ := x.body.(map[string]any)
	for k, want := range st.fields {
		if got, _ := json.Marshal(m[k]); string(got) != string(must(json.Marshal(want))) {
			t.Errorf("%s: %s = %s, want %v (body %s)", st.name, k, got, want, x.raw)
		}
	}
	for _, h := range st.headers {
		if x.header.Get(h) == "" {
			t.Errorf("%s: no %s header", st.name, h)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
