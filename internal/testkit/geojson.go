package testkit

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// FeatureCollection is a GeoJSON FeatureCollection of points with ids, one
// per entry of names (id → name), in id order, a feature a line: the MTS
// tests edit features by id and compare what the tileset was built from.
func FeatureCollection(names map[int]string) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(names)) {
		name, _ := json.Marshal(names[id])
		parts = append(parts, fmt.Sprintf(`{"type":"Feature","id":%d,"geometry":{"type":"Point","coordinates":[%d,1]},"properties":{"name":%s}}`, id, id, name))
	}
	return `{"type":"FeatureCollection","features":[` + strings.Join(parts, ",\n") + "]}"
}
