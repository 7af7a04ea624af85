package mapbox

import "regexp"

// The endpoints of the Mapbox Tiling Service (MTS), all below /tilesets/v1.
// Each is a distinct value, so that a rate budget can treat one apart (the
// publish endpoints allow 2 requests a minute).
const (
	EndpointSourceAppend     Endpoint = "source-append"      // POST /tilesets/v1/sources/{username}/{id}
	EndpointSourceReplace    Endpoint = "source-replace"     // PUT /tilesets/v1/sources/{username}/{id}
	EndpointSource           Endpoint = "source"             // GET /tilesets/v1/sources/{username}/{id}
	EndpointSourceList       Endpoint = "source-list"        // GET /tilesets/v1/sources/{username}
	EndpointSourceDelete     Endpoint = "source-delete"      // DELETE /tilesets/v1/sources/{username}/{id}
	EndpointChangesetAppend  Endpoint = "changeset-append"   // POST /tilesets/v1/changesets/{username}/{id}
	EndpointChangesetReplace Endpoint = "changeset-replace"  // PUT /tilesets/v1/changesets/{username}/{id}
	EndpointChangeset        Endpoint = "changeset"          // GET /tilesets/v1/changesets/{username}/{id}
	EndpointChangesetList    Endpoint = "changeset-list"     // GET /tilesets/v1/changesets/{username}
	EndpointChangesetDelete  Endpoint = "changeset-delete"   // DELETE /tilesets/v1/changesets/{username}/{id}
	EndpointTilesetCreate    Endpoint = "tileset-create"     // POST /tilesets/v1/{tileset_id}
	EndpointTilesetUpdate    Endpoint = "tileset-update"     // PATCH /tilesets/v1/{tileset_id}
	EndpointTilesetDelete    Endpoint = "tileset-delete"     // DELETE /tilesets/v1/{tileset_id}
	EndpointTilesetList      Endpoint = "tileset-list"       // GET /tilesets/v1/{username}
	EndpointRecipe           Endpoint = "recipe"             // GET /tilesets/v1/{tileset_id}/recipe
	EndpointRecipeUpdate     Endpoint = "recipe-update"      // PATCH /tilesets/v1/{tileset_id}/recipe
	EndpointRecipeValidate   Endpoint = "recipe-validate"    // PUT /tilesets/v1/validateRecipe
	EndpointPublish          Endpoint = "publish"            // POST /tilesets/v1/{tileset_id}/publish
	EndpointPublishChanges   Endpoint = "publish-changesets" // POST /tilesets/v1/{tileset_id}/publish-changesets
	EndpointJob              Endpoint = "job"                // GET /tilesets/v1/{tileset_id}/jobs/{job_id}
	EndpointJobList          Endpoint = "job-list"           // GET /tilesets/v1/{tileset_id}/jobs
	EndpointQueue            Endpoint = "queue"              // PUT /tilesets/v1/queue
)

// MTSEndpoints lists every MTS endpoint, in pipeline order.
var MTSEndpoints = []Endpoint{
	EndpointSourceReplace, EndpointSourceAppend, EndpointSource, EndpointSourceList, EndpointSourceDelete,
	EndpointChangesetReplace, EndpointChangesetAppend, EndpointChangeset, EndpointChangesetList, EndpointChangesetDelete,
	EndpointTilesetCreate, EndpointRecipeValidate, EndpointRecipe, EndpointRecipeUpdate, EndpointTilesetUpdate,
	EndpointPublish, EndpointPublishChanges, EndpointJob, EndpointJobList, EndpointQueue,
	EndpointTilesetList, EndpointTilesetDelete,
}

// The scopes of MTS tokens.
const (
	ScopeTilesetsWrite = "tilesets:write"
	ScopeTilesetsRead  = "tilesets:read"
	ScopeTilesetsList  = "tilesets:list"
)

// mtsScope is the scope an MTS endpoint needs (Mapbox's reference), "" for
// an endpoint of the Uploads API.
func mtsScope(ep Endpoint) string {
	switch ep {
	case EndpointSource, EndpointChangeset, EndpointJob, EndpointQueue:
		return ScopeTilesetsRead
	case EndpointSourceList, EndpointChangesetList, EndpointTilesetList, EndpointJobList, EndpointRecipe:
		return ScopeTilesetsList
	case EndpointSourceAppend, EndpointSourceReplace, EndpointSourceDelete,
		EndpointChangesetAppend, EndpointChangesetReplace, EndpointChangesetDelete,
		EndpointTilesetCreate, EndpointTilesetUpdate, EndpointTilesetDelete,
		EndpointRecipeUpdate, EndpointRecipeValidate, EndpointPublish, EndpointPublishChanges:
		return ScopeTilesetsWrite
	}
	return ""
}

// ScopeOf returns the scope a token needs for ep: uploads:* for the Uploads
// API, tilesets:* for MTS.
func ScopeOf(ep Endpoint) string { return scopeOf(ep) }

// IsMTS reports whether ep is an endpoint of the Mapbox Tiling Service.
func IsMTS(ep Endpoint) bool { return mtsScope(ep) != "" }

// MTSForward reports whether a request to ep moves a file forward on MTS
// (uploads a source or changeset, creates a tileset or changes its recipe,
// publishes) rather than reading state or cleaning up.
func MTSForward(ep Endpoint) bool {
	switch ep {
	case EndpointSourceReplace, EndpointSourceAppend, EndpointChangesetReplace, EndpointChangesetAppend,
		EndpointTilesetCreate, EndpointRecipeUpdate, EndpointPublish, EndpointPublishChanges:
		return true
	}
	return false
}

// MTSRateLimits are the requests a minute Mapbox's current MTS reference
// allows per endpoint and account. Replacing a source, the changeset
// endpoints and publish-changesets are not listed there: they are assumed to
// share the limits of their source and publish twins. An older edition gave
// 100,000 for the reads: treat these as defaults, not facts.
var MTSRateLimits = map[Endpoint]int{
	EndpointSourceAppend: 100, EndpointSourceReplace: 100, EndpointSource: 3000, EndpointSourceList: 3000, EndpointSourceDelete: 100,
	EndpointChangesetAppend: 100, EndpointChangesetReplace: 100, EndpointChangeset: 3000, EndpointChangesetList: 3000, EndpointChangesetDelete: 100,
	EndpointTilesetCreate: 100, EndpointTilesetUpdate: 100, EndpointTilesetDelete: 100, EndpointTilesetList: 3000,
	EndpointRecipe: 3000, EndpointRecipeUpdate: 100, EndpointRecipeValidate: 100,
	EndpointPublish: 2, EndpointPublishChanges: 2,
	EndpointJob: 3000, EndpointJobList: 3000, EndpointQueue: 3000,
}

// scopeMessage matches MTS's 403 for a token without the scope an endpoint
// needs ("This endpoint requires a token with tilesets:write scope").
var scopeMessage = regexp.MustCompile(`(?i)requires a token with .*scope`)

// SourceIDPattern is the check of a source or changeset ID (the Tilesets
// CLI's): 1 to 32 letters, digits, '-' and '_'.
var SourceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// TilesetIDPattern is the check of a tileset ID, "{username}.{name}" (the
// Tilesets CLI's, which compares without case).
var TilesetIDPattern = regexp.MustCompile(`(?i)^[a-z0-9-_]{1,32}\.[a-z0-9-_]{1,32}$`)
