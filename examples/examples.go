// Package examples holds tilesyncd's bundled example files, one small real
// file of each type Mapbox accepts (made by scripts/make-examples.py), for
// the demo command and the tests.
package examples

import "embed"

// Drop is the example drop folder: the files are under "drop/".
//
//go:embed drop
var Drop embed.FS
