// Package config reads tilesyncd's YAML configuration.
//
// Parsing runs in four steps, each with its own errors: defaults are set, the
// YAML is decoded with unknown keys rejected (a misspelt key is an error, not a
// silently ignored setting), values are normalised (durations parsed, paths made
// absolute relative to the configuration file, globs, regular expressions and
// templates compiled), and Validate checks what needs the filesystem (watch
// folders exist, none inside another, the state database outside them).
//
// Every error names the file and line of the value at fault, in the form
// editors and terminals recognise:
//
//	config.yaml:14: rules[2].tileset: unknown placeholder {stme} (known: …)
//
// Rules map a file to a tileset. The first rule whose pattern matches the file's
// path, relative to its watch folder, decides; a file no rule matches is not
// uploaded. Tileset IDs are rendered from a template and then made valid for
// Mapbox by TilesetName, whose output for a given input never changes between
// versions (golden tests pin it): a changed mapping would send files to new
// tilesets and bill the user again. It changed once, for names outside the
// Latin script, which collided before (README, "IDs that changed once").
// Transliteration is a fixed table for the same reason (translit.go).
//
// The Mapbox token is never part of the YAML: it comes from the environment
// (MAPBOX_ACCESS_TOKEN) or from a token_file, and prints as [redacted].
package config
