package crs

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// WKT1 as PROJ 9.1's projinfo writes it (-o WKT1_ESRI unless said).
const (
	esriWGS84    = `GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`
	esriNAD83    = `GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`
	esri3857     = `PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",` + esriWGS84 + `,PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]`
	gdal3857     = `PROJCS["WGS 84 / Pseudo-Mercator",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Mercator_1SP"],PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],EXTENSION["PROJ4","+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs"],AUTHORITY["EPSG","3857"]]`
	esri32632    = `PROJCS["WGS_1984_UTM_Zone_32N",` + esriWGS84 + `,PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
	gdal32632    = `PROJCS["WGS 84 / UTM zone 32N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",9],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32632"]]`
	esri32733    = `PROJCS["WGS_1984_UTM_Zone_33S",` + esriWGS84 + `,PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",10000000.0],PARAMETER["Central_Meridian",15.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
	esri26917    = `PROJCS["NAD_1983_UTM_Zone_17N",` + esriNAD83 + `,PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-81.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
	esri32111    = `PROJCS["NAD_1983_StatePlane_New_Jersey_FIPS_2900",` + esriNAD83 + `,PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",150000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-74.5],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",38.8333333333333],UNIT["Meter",1.0]]`
	esri2154     = `PROJCS["RGF_1993_Lambert_93",GEOGCS["GCS_RGF_1993",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",700000.0],PARAMETER["False_Northing",6600000.0],PARAMETER["Central_Meridian",3.0],PARAMETER["Standard_Parallel_1",49.0],PARAMETER["Standard_Parallel_2",44.0],PARAMETER["Latitude_Of_Origin",46.5],UNIT["Meter",1.0]]`
	esri2263     = `PROJCS["NAD_1983_StatePlane_New_York_Long_Island_FIPS_3104_Feet",` + esriNAD83 + `,PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",984250.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-74.0],PARAMETER["Standard_Parallel_1",41.0333333333333],PARAMETER["Standard_Parallel_2",40.6666666666667],PARAMETER["Latitude_Of_Origin",40.1666666666667],UNIT["US survey foot",0.304800609601219]]`
	esriLCC1SP   = `PROJCS["unknown",GEOGCS["GCS_unknown",DATUM["D_Unknown_based_on_WGS84_ellipsoid_using_towgs84_0_0_0",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",600000.0],PARAMETER["False_Northing",200000.0],PARAMETER["Central_Meridian",10.0],PARAMETER["Standard_Parallel_1",45.0],PARAMETER["Scale_Factor",0.9998],PARAMETER["Latitude_Of_Origin",45.0],UNIT["Meter",1.0]]`
	esri3395     = `PROJCS["WGS_1984_World_Mercator",` + esriWGS84 + `,PROJECTION["Mercator"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],UNIT["Meter",1.0]]`
	esri27700    = `PROJCS["British_National_Grid",GEOGCS["GCS_OSGB_1936",DATUM["D_OSGB_1936",SPHEROID["Airy_1830",6377563.396,299.3249646]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",400000.0],PARAMETER["False_Northing",-100000.0],PARAMETER["Central_Meridian",-2.0],PARAMETER["Scale_Factor",0.9996012717],PARAMETER["Latitude_Of_Origin",49.0],UNIT["Meter",1.0]]`
	esri102003   = `PROJCS["USA_Contiguous_Albers_Equal_Area_Conic",` + esriNAD83 + `,PROJECTION["Albers"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-96.0],PARAMETER["Standard_Parallel_1",29.5],PARAMETER["Standard_Parallel_2",45.5],PARAMETER["Latitude_Of_Origin",37.5],UNIT["Meter",1.0]]`
	wkt2GeogWGS4 = `GEOGCRS["WGS 84",ENSEMBLE["World Geodetic System 1984 ensemble",MEMBER["World Geodetic System 1984 (G2139)"],ELLIPSOID["WGS 84",6378137,298.257223563,LENGTHUNIT["metre",1]],ENSEMBLEACCURACY[2.0]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],CS[ellipsoidal,2],AXIS["geodetic latitude (Lat)",north],AXIS["geodetic longitude (Lon)",east],ANGLEUNIT["degree",0.0174532925199433],ID["EPSG",4326]]`
)

// TestToWGS84 compares with PROJ 9.1.1's cs2cs (EPSG:xxxx +to EPSG:4326,
// -f %.10f), which printed the lat/lon given here.
func TestToWGS84(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wkt      string
		x, y     float64
		lat, lon float64
		note     bool
	}{
		{"3857 esri", esri3857, 1001875.417, 6800125.454, 51.9999999978, 8.9999999987, false},
		{"3857 esri west", esri3857, -13627361.035, 4544761.515, 37.7542074049, -122.4166669996, false},
		{"3857 esri edge", esri3857, 20037508.34, -20000000, -85.0219764762, 179.9999999749, false},
		{"3857 gdal", gdal3857, 1001875.417, 6800125.454, 51.9999999978, 8.9999999987, false},
		{"32632 esri", esri32632, 500000, 5761038.212, 51.9999999947, 9.0, false},
		{"32632 east", esri32632, 710000, 5200000, 46.9202933900, 11.7581994388, false},
		{"32632 north", esri32632, 300000, 7800000, 70.2278445533, 3.6967400413, false},
		{"32632 gdal", gdal32632, 710000, 5200000, 46.9202933900, 11.7581994388, false},
		{"32733 south", esri32733, 400000, 8000000, -18.0863946381, 14.0549530503, false},
		{"26917 nad83", esri26917, 630000, 4830000, 43.6116326398, -79.3890107796, true},
		{"32111 tm origin", esri32111, 200000, 150000, 40.1830239376, -73.9128503694, true},
		{"2154 lambert93", esri2154, 652469.02, 6862035.26, 48.8566000050, 2.3521999630, true},
		{"2154 far", esri2154, 1000000, 6200000, 42.8367748656, 6.6668420584, true},
		{"2263 feet", esri2263, 1000000, 200000, 40.7156164787, -73.9431850683, true},
		{"lcc 1sp", esriLCC1SP, 700000, 350000, 46.3425232842, 11.2989297210, false},
		{"3395 mercator", esri3395, 1000000, 7000000, 53.2763119034, 8.9831528412, false},
		{"4326", esriWGS84, 12.5, -33.25, -33.25, 12.5, false},
		{"4269", esriNAD83, -100, 40, 40, -100, true},
		{"wkt2 4326", wkt2GeogWGS4, 12.5, -33.25, -33.25, 12.5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.wkt)
			if err != nil {
				t.Fatal(err)
			}
			lon, lat := c.ToWGS84(tc.x, tc.y)
			// 1e-8 degrees is about a millimetre.
			if math.Abs(lon-tc.lon) > 1e-8 || math.Abs(lat-tc.lat) > 1e-8 {
				t.Errorf("ToWGS84(%v, %v) = lon %.10f lat %.10f, PROJ says lon %.10f lat %.10f", tc.x, tc.y, lon, lat, tc.lon, tc.lat)
			}
			if (c.Note != "") != tc.note {
				t.Errorf("Note = %q, want a note: %v", c.Note, tc.note)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ name, wkt, want string }{
		{"osgb datum", esri27700, `"British_National_Grid": its datum D_OSGB_1936 needs a datum shift`},
		{"albers", esri102003, `"USA_Contiguous_Albers_Equal_Area_Conic": its projection Albers is not one`},
		{"paris meridian", strings.Replace(esriWGS84, `PRIMEM["Greenwich",0.0]`, `PRIMEM["Paris",2.33722917]`, 1), "prime meridian is Paris"},
		{"grads", strings.Replace(esriWGS84, `UNIT["Degree",0.0174532925199433]`, `UNIT["Grad",0.015707963267949]`, 1), "angular unit is Grad"},
		{"wkt2 projected", `PROJCRS["WGS 84 / UTM zone 32N",BASEGEOGCRS["WGS 84",DATUM["World Geodetic System 1984"]]]`, "WKT2 projected CRSs are not read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.wkt)
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want ErrUnsupported containing %q", err, tc.want)
			}
		})
	}
}

func TestParseNotWKT(t *testing.T) {
	for _, s := range []string{"", "GEOGCS", `GEOGCS["x"`, `GEOGCS["x"]]`, `FOO["x"]`, `GEOGCS[1e999]`} {
		if _, err := Parse(s); err == nil || errors.Is(err, ErrUnsupported) {
			t.Errorf("Parse(%q) = %v, want a WKT error", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{esri3857, gdal3857, esri32632, esri2154, esri2263, esriLCC1SP, esri27700, wkt2GeogWGS4} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		for _, p := range [][2]float64{{0, 0}, {1e6, 5e6}, {-1e7, 1e7}, {math.Inf(1), math.NaN()}} {
			c.ToWGS84(p[0], p[1]) // must not panic or hang
		}
	})
}
