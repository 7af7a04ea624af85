package convert

import (
	"strings"
	"testing"
)

func TestCheckNumber(t *testing.T) {
	for _, tc := range []struct {
		num string
		i   int
		ok  bool
	}{
		{"179.999999", 0, true}, {"180", 0, true}, {"180.0", 0, true}, {"-180", 0, true}, {"180.0000001", 0, false},
		{"-180.5", 0, false}, {"1.8e2", 0, true}, {"1.81e2", 0, false}, {"0", 0, true}, {"-0.0", 0, true},
		{"89.9", 1, true}, {"90", 1, true}, {"-90.000001", 1, false}, {"900", 1, false}, {"9e1", 1, true},
		{"1e308", 2, true}, {"1e309", 2, false}, {"-1e400", 2, false}, {strings.Repeat("9", 300), 2, true}, {strings.Repeat("9", 320), 2, false},
		{"123456789012345678901234567890", 2, true},
	} {
		if err := checkNumber([]byte(tc.num), tc.i); (err == nil) != tc.ok {
			t.Errorf("checkNumber(%s, %d) = %v, want ok %v", tc.num, tc.i, err, tc.ok)
		}
	}
}

func TestAppendCoords(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		depth int
		want  string
		n     int
		err   string
	}{
		{" [ 1 , 2 ] ", 1, "[1,2]", 1, ""},
		{"[]", 1, "[]", 0, ""},
		{"[[1,2,3,4],[5,6]]", 2, "[[1,2,3,4],[5,6]]", 2, ""},
		{"[[],[]]", 3, "[[],[]]", 0, ""},
		{"[[[0,0],[1,0],[1,1],[0,0]]]", 3, "[[[0,0],[1,0],[1,1],[0,0]]]", 4, ""},
		{"[[1,2]]", 1, "", 0, "nested deeper"},
		{"[1,2]", 2, "", 0, "expected an array 1 deep"},
		{`["1",2]`, 1, "", 0, "expected a number"},
		{"[1,2] x", 1, "", 0, "unexpected data"},
		{"[[1,2],[]]", 2, "", 0, "position 2 has 0 numbers"},
		{"[1,-91]", 1, "", 0, "latitude -91 is out of range"},
	} {
		got, n, err := appendCoords(nil, []byte(tc.raw), tc.depth)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("appendCoords(%s, %d): %v, want an error saying %q", tc.raw, tc.depth, err, tc.err)
			}
		case err != nil || string(got) != tc.want || n != tc.n:
			t.Errorf("appendCoords(%s, %d) = %s, %d, %v; want %s, %d", tc.raw, tc.depth, got, n, err, tc.want, tc.n)
		}
	}
}
