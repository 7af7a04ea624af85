#!/usr/bin/env python3
"""Writes the small real example files in examples/drop, one of each type
Mapbox accepts. Run once by a developer; the output is committed, so neither
the tests nor a newcomer need Python. Standard library only."""
import io, json, os, sqlite3, struct, zipfile

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "drop")
os.makedirs(os.path.join(out, "parks"), exist_ok=True)
os.makedirs(os.path.join(out, "surveys"), exist_ok=True)

def write(rel, data, mode="w"):
    with open(os.path.join(out, rel), mode) as f:
        f.write(data)

# GeoJSON FeatureCollection (OGC:CRS84, lon/lat).
write("parks/city-parks.geojson", json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "Riverside Park"},
     "geometry": {"type": "Polygon", "coordinates": [[[-73.98, 40.80], [-73.97, 40.80], [-73.97, 40.81], [-73.98, 40.81], [-73.98, 40.80]]]}},
    {"type": "Feature", "properties": {"name": "Fountain"}, "geometry": {"type": "Point", "coordinates": [-73.975, 40.805]}},
]}, indent=1) + "\n")

# GeoJSON lines with stable feature ids, for the example MTS rule (cycling/).
os.makedirs(os.path.join(out, "cycling"), exist_ok=True)
write("cycling/bike-lanes.geojson", json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": 1, "properties": {"name": "Hudson River Greenway", "protected": True},
     "geometry": {"type": "LineString", "coordinates": [[-73.9885, 40.7712], [-73.9838, 40.7801], [-73.9792, 40.7903]]}},
    {"type": "Feature", "id": 2, "properties": {"name": "Riverside Drive", "protected": False},
     "geometry": {"type": "LineString", "coordinates": [[-73.9812, 40.7865], [-73.9765, 40.7968], [-73.9712, 40.8042]]}},
    {"type": "Feature", "id": 3, "properties": {"name": "West 110th Street", "protected": False},
     "geometry": {"type": "LineString", "coordinates": [[-73.9641, 40.8019], [-73.9585, 40.7994]]}},
]}, indent=1) + "\n")

# GPX track.
write("surveys/morning-walk.gpx", """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="tilesyncd examples" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>Morning walk</name><trkseg>
    <trkpt lat="40.8000" lon="-73.9800"><ele>10</ele><time>2026-01-01T08:00:00Z</time></trkpt>
    <trkpt lat="40.8010" lon="-73.9790"><ele>11</ele><time>2026-01-01T08:01:00Z</time></trkpt>
    <trkpt lat="40.8020" lon="-73.9785"><ele>12</ele><time>2026-01-01T08:02:00Z</time></trkpt>
  </trkseg></trk>
</gpx>
""")

# KML placemarks.
write("surveys/benches.kml", """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Benches</name>
  <Placemark><name>Bench 1</name><Point><coordinates>-73.9770,40.8030,0</coordinates></Point></Placemark>
  <Placemark><name>Bench 2</name><Point><coordinates>-73.9760,40.8040,0</coordinates></Point></Placemark>
</Document></kml>
""")

# CSV with lat/lon columns.
write("trees.csv", "id,species,lat,lon\n1,oak,40.8001,-73.9791\n2,maple,40.8012,-73.9783\n3,elm,40.8023,-73.9772\n")

# Zipped shapefile: two points, with .shp, .shx, .dbf and .prj.
def shapefile(points):
    n = len(points)
    rec_len = 20  # shape type (4) + x (8) + y (8), in bytes
    shp_len = 100 + n * (8 + rec_len)
    xs = [p[0] for p in points]; ys = [p[1] for p in points]
    bbox = struct.pack("<4d", min(xs), min(ys), max(xs), max(ys)) + struct.pack("<4d", 0, 0, 0, 0)
    def header(length):
        return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length // 2) + struct.pack("<2i", 1000, 1) + bbox
    shp = io.BytesIO(); shx = io.BytesIO()
    shp.write(header(shp_len)); shx.write(header(100 + n * 8))
    offset = 100
    for i, (x, y) in enumerate(points):
        shp.write(struct.pack(">2i", i + 1, rec_len // 2) + struct.pack("<i2d", 1, x, y))
        shx.write(struct.pack(">2i", offset // 2, rec_len // 2))
        offset += 8 + rec_len
    # dBASE III with one 16-character field NAME.
    names = [f"point {i + 1}" for i in range(n)]
    dbf = io.BytesIO()
    dbf.write(struct.pack("<BBBBIHH20x", 3, 126, 1, 1, n, 32 + 32 + 1, 1 + 16))
    dbf.write(b"NAME".ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([16, 0]) + b"\0" * 14)
    dbf.write(b"\r")
    for name in names:
        dbf.write(b" " + name.encode().ljust(16))
    dbf.write(b"\x1a")
    return shp.getvalue(), shx.getvalue(), dbf.getvalue()

shp, shx, dbf = shapefile([(-73.978, 40.802), (-73.976, 40.804)])
prj = 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]]'
with zipfile.ZipFile(os.path.join(out, "surveys", "hydrants.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in [("hydrants.shp", shp), ("hydrants.shx", shx), ("hydrants.dbf", dbf), ("hydrants.prj", prj.encode())]:
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)

# A tiny MBTiles: the metadata table and one 1x1 PNG tile at zoom 0.
png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db0000000"
                    "0049454e44ae426082")
path = os.path.join(out, "basemap.mbtiles")
if os.path.exists(path):
    os.remove(path)
db = sqlite3.connect(path)
db.executescript("""
CREATE TABLE metadata (name text, value text);
CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
CREATE UNIQUE INDEX tile_index on tiles (zoom_level, tile_column, tile_row);
""")
db.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "basemap"), ("format", "png"), ("minzoom", "0"),
    ("maxzoom", "0"), ("bounds", "-180,-85.0511,180,85.0511"), ("type", "baselayer"), ("version", "1.0")])
db.execute("INSERT INTO tiles VALUES (0, 0, 0, ?)", (png,))
db.commit(); db.execute("VACUUM"); db.close()

# A tiny GeoTIFF: 2x2 8-bit greyscale, WGS84, with ModelPixelScale, ModelTiepoint and GeoKeyDirectory.
def geotiff():
    w = h = 2
    pixels = bytes([0, 64, 128, 255])
    entries = []
    extra = io.BytesIO()
    base = 8  # header
    def add(tag, typ, count, value_bytes):
        entries.append((tag, typ, count, value_bytes))
    add(256, 3, 1, struct.pack("<H", w))          # ImageWidth
    add(257, 3, 1, struct.pack("<H", h))          # ImageLength
    add(258, 3, 1, struct.pack("<H", 8))          # BitsPerSample
    add(259, 3, 1, struct.pack("<H", 1))          # Compression: none
    add(262, 3, 1, struct.pack("<H", 1))          # Photometric: black is zero
    add(273, 4, 1, None)                          # StripOffsets (filled below)
    add(277, 3, 1, struct.pack("<H", 1))          # SamplesPerPixel
    add(278, 3, 1, struct.pack("<H", h))          # RowsPerStrip
    add(279, 4, 1, struct.pack("<I", len(pixels)))  # StripByteCounts
    add(33550, 12, 3, struct.pack("<3d", 0.001, 0.001, 0))                     # ModelPixelScale
    add(33922, 12, 6, struct.pack("<6d", 0, 0, 0, -73.98, 40.81, 0))          # ModelTiepoint
    add(34735, 3, 16, struct.pack("<16H", 1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326))  # GeoKeys
    n = len(entries)
    ifd_size = 2 + n * 12 + 4
    data_off = base + ifd_size
    blobs = io.BytesIO()
    body = io.BytesIO()
    body.write(struct.pack("<H", n))
    pix_off = None
    for tag, typ, count, value in entries:
        if tag == 273:
            body.write(struct.pack("<HHI", tag, typ, count)); pos_273 = body.tell(); body.write(b"\0\0\0\0"); continue
        if len(value) <= 4:
            body.write(struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0"))
        else:
            body.write(struct.pack("<HHII", tag, typ, count, data_off + blobs.tell()))
            blobs.write(value)
            if blobs.tell() % 2: blobs.write(b"\0")
    body.write(struct.pack("<I", 0))
    pix_off = data_off + blobs.tell()
    b = bytearray(body.getvalue())
    b[pos_273:pos_273 + 4] = struct.pack("<I", pix_off)
    return b"II*\0" + struct.pack("<I", base) + bytes(b) + blobs.getvalue() + pixels

write("elevation.tif", geotiff(), "wb")
print("wrote examples in", os.path.normpath(out))
