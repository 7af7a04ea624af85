package crs

import (
	"fmt"
	"math"
)

// The inverses below take metres from the false origin and return radians.
// Formulas: Snyder, "Map Projections: A Working Manual" (USGS 1987) for
// Mercator and Lambert; Karney, "Transverse Mercator with an accuracy of a
// few nanometers" (J. Geodesy 2011), the Krüger series to n⁶, for
// Transverse Mercator. Tests check them against PROJ's cs2cs.

func (e ellipsoid) ecc() float64 { return math.Sqrt(e.f * (2 - e.f)) }

// webMercatorInverse is spherical Mercator on a sphere of radius a.
func webMercatorInverse(a, lon0 float64) func(x, y float64) (float64, float64) {
	return func(x, y float64) (float64, float64) {
		return lon0 + x/a, math.Atan(math.Sinh(y / a))
	}
}

// mercatorScale is the scale factor at the equator of a Mercator whose
// standard parallel is sp.
func mercatorScale(e ellipsoid, sp float64) float64 {
	es := e.ecc() * math.Sin(sp)
	return math.Cos(sp) / math.Sqrt(1-es*es)
}

// mercatorInverse is ellipsoidal Mercator with scale k0 at the equator.
func mercatorInverse(e ellipsoid, lon0, k0 float64) func(x, y float64) (float64, float64) {
	ecc := e.ecc()
	return func(x, y float64) (float64, float64) {
		t := math.Exp(-y / (e.a * k0))
		return lon0 + x/(e.a*k0), latFromT(t, ecc)
	}
}

// latFromT solves Snyder's t = tan(π/4 − φ/2) / ((1 − e sinφ)/(1 + e sinφ))^(e/2)
// for φ, by the fixed-point iteration of his (7-9).
func latFromT(t, ecc float64) float64 {
	phi := math.Pi/2 - 2*math.Atan(t)
	for range 15 {
		es := ecc * math.Sin(phi)
		next := math.Pi/2 - 2*math.Atan(t*math.Pow((1-es)/(1+es), ecc/2))
		if math.Abs(next-phi) < 1e-14 {
			return next
		}
		phi = next
	}
	return phi
}

// tOf is Snyder's t(φ).
func tOf(phi, ecc float64) float64 {
	es := ecc * math.Sin(phi)
	return math.Tan(math.Pi/4-phi/2) / math.Pow((1-es)/(1+es), ecc/2)
}

// mOf is Snyder's m(φ).
func mOf(phi, ecc float64) float64 {
	es := ecc * math.Sin(phi)
	return math.Cos(phi) / math.Sqrt(1-es*es)
}

// lambert is Lambert Conformal Conic, one or two standard parallels.
type lambert struct {
	a, ecc, n, f, rho0, k0, lon0 float64
}

func newLambert(e ellipsoid, p map[string]float64, method string) (*lambert, error) {
	deg := math.Pi / 180
	l := &lambert{a: e.a, ecc: e.ecc(), k0: first(p, 1, "scalefactor")}
	l.lon0 = first(p, 0, "centralmeridian", "longitudeoforigin", "longitudeoffalseorigin") * deg
	lat0 := first(p, 0, "latitudeoforigin", "latitudeoffalseorigin") * deg
	sp1, has1 := p["standardparallel1"]
	sp2, has2 := p["standardparallel2"]
	switch {
	case method == "lambertconformalconic1sp" || (!has1 && !has2) || (has1 && !has2 && sp1*deg == lat0):
		// one standard parallel: the latitude of origin, with a scale factor
		l.n = math.Sin(lat0)
		l.f = mOf(lat0, l.ecc) / (l.n * math.Pow(tOf(lat0, l.ecc), l.n))
	case has1:
		if !has2 {
			sp2 = sp1
		}
		p1, p2 := sp1*deg, sp2*deg
		m1, m2 := mOf(p1, l.ecc), mOf(p2, l.ecc)
		t1, t2 := tOf(p1, l.ecc), tOf(p2, l.ecc)
		if math.Abs(p1-p2) < 1e-12 {
			l.n = math.Sin(p1)
		} else {
			l.n = (math.Log(m1) - math.Log(m2)) / (math.Log(t1) - math.Log(t2))
		}
		l.f = m1 / (l.n * math.Pow(t1, l.n))
	default:
		return nil, fmt.Errorf("its Lambert projection has a second standard parallel and no first")
	}
	if l.n == 0 || math.IsNaN(l.f) || math.IsInf(l.f, 0) {
		return nil, fmt.Errorf("its Lambert projection's parallels give no cone (standard parallel on the equator)")
	}
	l.rho0 = l.a * l.k0 * l.f * math.Pow(tOf(lat0, l.ecc), l.n)
	return l, nil
}

func (l *lambert) inverse(x, y float64) (float64, float64) {
	dy := l.rho0 - y
	rho := math.Copysign(math.Hypot(x, dy), l.n)
	theta := math.Atan2(math.Copysign(1, l.n)*x, math.Copysign(1, l.n)*dy)
	lon := theta/l.n + l.lon0
	if rho == 0 {
		return lon, math.Copysign(math.Pi/2, l.n)
	}
	t := math.Pow(rho/(l.a*l.k0*l.f), 1/l.n)
	return lon, latFromT(t, l.ecc)
}

// transverseMercator is the Krüger series form of Transverse Mercator.
type transverseMercator struct {
	ecc, lon0, k0, bigA, xi0 float64
	alpha, beta              [7]float64 // [1..6]
}

func newTransverseMercator(e ellipsoid, lon0, lat0, k0 float64) *transverseMercator {
	n := e.f / (2 - e.f)
	n2 := n * n
	n3, n4, n5, n6 := n2*n, n2*n2, n2*n2*n, n2*n2*n2
	t := &transverseMercator{ecc: e.ecc(), lon0: lon0, k0: k0}
	t.bigA = e.a / (1 + n) * (1 + n2/4 + n4/64 + n6/256)
	t.alpha = [7]float64{0,
		n/2 - 2*n2/3 + 5*n3/16 + 41*n4/180 - 127*n5/288 + 7891*n6/37800,
		13*n2/48 - 3*n3/5 + 557*n4/1440 + 281*n5/630 - 1983433*n6/1935360,
		61*n3/240 - 103*n4/140 + 15061*n5/26880 + 167603*n6/181440,
		49561*n4/161280 - 179*n5/168 + 6601661*n6/7257600,
		34729*n5/80640 - 3418889*n6/1995840,
		212378941 * n6 / 319334400,
	}
	t.beta = [7]float64{0,
		n/2 - 2*n2/3 + 37*n3/96 - n4/360 - 81*n5/512 + 96199*n6/604800,
		n2/48 + n3/15 - 437*n4/1440 + 46*n5/105 - 1118711*n6/3870720,
		17*n3/480 - 37*n4/840 - 209*n5/4480 + 5569*n6/90720,
		4397*n4/161280 - 11*n5/504 - 830251*n6/7257600,
		4583*n5/161280 - 108847*n6/3991680,
		20648693 * n6 / 638668800,
	}
	// ξ of the latitude of origin on the central meridian: its northing / (k0 A).
	chi := conformalLat(lat0, t.ecc)
	t.xi0 = chi
	for j := 1; j <= 6; j++ {
		t.xi0 += t.alpha[j] * math.Sin(2*float64(j)*chi)
	}
	return t
}

func (t *transverseMercator) inverse(x, y float64) (float64, float64) {
	xi := y/(t.k0*t.bigA) + t.xi0
	eta := x / (t.k0 * t.bigA)
	xi1, eta1 := xi, eta
	for j := 1; j <= 6; j++ {
		jf := 2 * float64(j)
		xi1 -= t.beta[j] * math.Sin(jf*xi) * math.Cosh(jf*eta)
		eta1 -= t.beta[j] * math.Cos(jf*xi) * math.Sinh(jf*eta)
	}
	chi := math.Asin(math.Sin(xi1) / math.Cosh(eta1))
	lon := t.lon0 + math.Atan2(math.Sinh(eta1), math.Cos(xi1))
	return lon, geodeticLat(chi, t.ecc)
}

// conformalLat is the conformal latitude χ of a geodetic latitude φ.
func conformalLat(phi, ecc float64) float64 {
	return math.Asin(math.Tanh(math.Atanh(math.Sin(phi)) - ecc*math.Atanh(ecc*math.Sin(phi))))
}

// geodeticLat inverts conformalLat by fixed-point iteration.
func geodeticLat(chi, ecc float64) float64 {
	if math.Abs(chi) >= math.Pi/2 {
		return chi
	}
	return latFromT(math.Tan(math.Pi/4-chi/2), ecc)
}
