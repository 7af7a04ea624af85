// Package examples holds tilesyncd's bundled example files, one small real
// file of each type Mapbox accepts (made by scripts/make-examples.py), for
// the demo command and the tests, and the recipe of the example MTS rule.
package examples

import "embed"

// Drop is the example drop folder: the files are under "drop/".
//
//go:embed drop
var Drop embed.FS

// Recipes holds the recipe templates of the example MTS rules, under
// "recipes/" (tilesyncd.yaml names them relative to itself).
//
//go:embed recipes
var Recipes embed.FS
