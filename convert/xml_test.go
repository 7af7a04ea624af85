package convert

import (
	"testing"
)

const gpxSample = `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <metadata><name>ignored</name><bounds minlat="0" minlon="0" maxlat="1" maxlon="1"/></metadata>
  <wpt lat="47.3769" lon="8.5417">
    <ele>408.5</ele><time>2024-05-01T10:00:00Z</time><name>Zürich &amp; co</name>
    <link href="https://example.com/z"><text>site</text></link>
    <sym>Flag</sym><extensions><x:speed xmlns:x="urn:x">3</x:speed></extensions>
  </wpt>
  <rte><name>route</name><number>7</number>
    <rtept lat="47.0" lon="8.0"><ele>1</ele></rtept>
    <rtept lat="47.5" lon="8.5"/>
  </rte>
  <trk><name>two segments</name><type>hike</type>
    <trkseg><trkpt lat="46" lon="7"><ele>500</ele><time>2024-05-01T10:00:00Z</time></trkpt><trkpt lat="46.1" lon="7.1"/></trkseg>
    <trkseg><trkpt lat="46.2" lon="7.2"/><trkpt lat="46.3" lon="7.3"/><trkpt lat="46.4" lon="7.4"/></trkseg>
  </trk>
  <trk><name>one segment</name><trkseg><trkpt lat="1" lon="2"/><trkpt lat="3" lon="4"/></trkseg></trk>
  <rte><name>too short</name><rtept lat="1" lon="2"/></rte>
</gpx>`

func TestGPX(t *testing.T) {
	_, out, stats, err := convertFile(t, "walk.gpx", gpxSample)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"Feature","geometry":{"type":"Point","coordinates":[8.5417,47.3769]},"properties":{"ele":408.5,"time":"2024-05-01T10:00:00Z","name":"Zürich & co","link":"https://example.com/z","sym":"Flag"}}
{"type":"Feature","geometry":{"type":"LineString","coordinates":[[8,47],[8.5,47.5]]},"properties":{"name":"route","number":7}}
{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[7,46],[7.1,46.1]],[[7.2,46.2],[7.3,46.3],[7.4,46.4]]]},"properties":{"name":"two segments","type":"hike"}}
{"type":"Feature","geometry":{"type":"LineString","coordinates":[[2,1],[4,3]]},"properties":{"name":"one segment"}}
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if stats.SkippedNoGeometry != 1 {
		t.Errorf("skipped %d, want 1 (the one-point route)", stats.SkippedNoGeometry)
	}
}

func TestGPXLatin1(t *testing.T) {
	data := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<gpx><wpt lat=\"1\" lon=\"2\"><name>caf\xe9</name></wpt></gpx>"
	fs, _, _, err := convertFile(t, "a.gpx", data)
	if err != nil {
		t.Fatal(err)
	}
	if got := props(fs[0]); got != `{"name":"café"}` {
		t.Errorf("properties %s", got)
	}
}

func TestGPXErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		sentinel   error
		parts      []string
	}{
		{"no lat", "<gpx>\n<wpt lon=\"1\"/>\n</gpx>", ErrInvalid, []string{"a.gpx: line 2: feature 1", "<wpt> has no lat attribute"}},
		{"bad lon", "<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"east\"/></trkseg></trk></gpx>", ErrInvalid, []string{`<trkpt lon="east">: not a number`}},
		{"out of range", "<gpx><rte><rtept lat=\"91\" lon=\"1\"/></rte></gpx>", ErrInvalid, []string{"<rtept>: latitude 91 is out of range"}},
		{"not gpx", "<kml></kml>", ErrInvalid, []string{"no <gpx> element"}},
		{"broken xml", "<gpx><wpt lat=\"1\" lon=\"2\"></gpx>", ErrInvalid, []string{"a.gpx: line 1"}},
		{"unknown encoding", "<?xml version=\"1.0\" encoding=\"x-nonsense\"?><gpx/>", ErrUnsupported, []string{`unknown XML encoding "x-nonsense"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := convertFile(t, "a.gpx", tc.data)
			wantError(t, err, tc.sentinel, tc.parts...)
		})
	}
}

const kmlSample = `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document><name>doc</name>
 <Style id="s"><LineStyle><color>ff0000ff</color></LineStyle></Style>
 <Folder><name>f</name>
  <Placemark id="p1"><name>Point</name><description><![CDATA[<b>bold</b>&nbsp;]]></description>
    <TimeStamp><when>2024-01-01</when></TimeStamp>
    <ExtendedData><Data name="kind"><value>cafe</value></Data>
      <SchemaData schemaUrl="#s"><SimpleData name="pop">12</SimpleData></SchemaData></ExtendedData>
    <Point><coordinates> 8.5, 47.3 ,408 </coordinates></Point></Placemark>
  <Folder><Placemark><name>hole first</name><styleUrl>#s</styleUrl>
    <Polygon><innerBoundaryIs><LinearRing><coordinates>0.2,0.2 0.4,0.2 0.4,0.4 0.2,0.4 0.2,0.2</coordinates></LinearRing></innerBoundaryIs>
      <outerBoundaryIs><LinearRing><coordinates>0,0 0,1 1,1 1,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Folder>
 </Folder>
 <Placemark><name>two lines</name><MultiGeometry><LineString><coordinates>0,0 1,1</coordinates></LineString>
   <MultiGeometry><LineString><tessellate>1</tessellate><coordinates>2,2
   3,3</coordinates></LineString></MultiGeometry></MultiGeometry></Placemark>
 <Placemark><name>track</name><gx:Track><when>2024-01-01T00:00:00Z</when><gx:coord>1 2 3</gx:coord><gx:coord>4 5 6</gx:coord></gx:Track></Placemark>
 <Placemark><name>no geometry</name></Placemark>
 <Placemark><name>points</name><MultiGeometry><Point><coordinates>1,1</coordinates></Point><Point><coordinates>2,2</coordinates></Point></MultiGeometry></Placemark>
</Document></kml>`

func TestKML(t *testing.T) {
	_, out, stats, err := convertFile(t, "places.kml", kmlSample)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"Feature","id":"p1","geometry":{"type":"Point","coordinates":[8.5,47.3]},"properties":{"name":"Point","description":"<b>bold</b>&nbsp;","timestamp":"2024-01-01","kind":"cafe","pop":"12"}}
{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.2,0.2],[0.2,0.4],[0.4,0.4],[0.4,0.2],[0.2,0.2]]]},"properties":{"name":"hole first"}}
{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3]]]},"properties":{"name":"two lines"}}
{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[4,5]]},"properties":{"name":"track"}}
{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[1,1],[2,2]]},"properties":{"name":"points"}}
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if stats.SkippedNoGeometry != 1 {
		t.Errorf("skipped %d, want 1", stats.SkippedNoGeometry)
	}
}

func TestKMLErrors(t *testing.T) {
	pm := func(g string) string { return "<kml><Placemark>\n" + g + "</Placemark></kml>" }
	for _, tc := range []struct {
		name, data string
		sentinel   error
		parts      []string
	}{
		{"mixed multigeometry", pm("<MultiGeometry><Point><coordinates>1,1</coordinates></Point><LineString><coordinates>0,0 1,1</coordinates></LineString></MultiGeometry>"),
			ErrUnsupported, []string{"a.kml: line 2: feature 1", "would be a GeometryCollection"}},
		{"bad number", pm("<Point><coordinates>1,north</coordinates></Point>"), ErrInvalid, []string{`tuple 1: "north" is not a number`}},
		{"one number", pm("<LineString><coordinates>1,2 3</coordinates></LineString>"), ErrInvalid, []string{"tuple 2 has one number"}},
		{"out of range", pm("<Point><coordinates>200,0</coordinates></Point>"), ErrInvalid, []string{"longitude 200 is out of range"}},
		{"two outers", pm("<Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1</coordinates></LinearRing></outerBoundaryIs><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1</coordinates></LinearRing></outerBoundaryIs></Polygon>"),
			ErrInvalid, []string{"two outer boundaries"}},
		{"not kml", "<gpx/>", ErrInvalid, []string{"no <kml> element"}},
		{"bad gx coord", pm("<gx:Track><gx:coord>1</gx:coord></gx:Track>"), ErrInvalid, []string{"<gx:coord>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := convertFile(t, "a.kml", tc.data)
			wantError(t, err, tc.sentinel, tc.parts...)
		})
	}
}

func TestParseTuples(t *testing.T) {
	for in, want := range map[string]int{
		"": 0, "1,2": 1, " 1,2,3\n4,5,6 ": 2, "1, 2 3 ,4": 2, "1,2\t3,4\r\n5,6": 3,
	} {
		n := 0
		if err := parseTuples(in, func(x, y float64) { n++ }); err != nil || n != want {
			t.Errorf("parseTuples(%q): %d tuples, %v; want %d", in, n, err, want)
		}
	}
}
