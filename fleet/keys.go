package fleet

// keyspace names every key the fleet keeps in Redis (see doc.go for what
// each holds). Every key of a group starts with tilesyncd:{GROUP}: the
// braces are a Redis Cluster hash tag, so the keys one script touches always
// share a slot.
type keyspace struct{ prefix string }

func newKeyspace(group string) keyspace { return keyspace{prefix: "tilesyncd:{" + group + "}:"} }

func (k keyspace) nodes() string           { return k.prefix + "nodes" }
func (k keyspace) node(name string) string { return k.prefix + "node:" + name }
func (k keyspace) epoch() string           { return k.prefix + "epoch" }

// budgetKeys are the keys of one shared budget: the account's (no name)
// or the publishes' ("publish").
type budgetKeys struct {
	// budget is the GCRA limiter's key as given to redis_rate, which
	// prefixes it with "rate:" (rateKey is the key as stored).
	budget, rateKey                           string
	limit, holdRate, holdOutage, outageStreak string
}

// budget returns the keys of the budget called name: "" is the account's,
// whose keys have no infix; another name's keys carry "NAME:".
func (k keyspace) budget(name string) budgetKeys {
	p := k.prefix
	if name != "" {
		p += name + ":"
	}
	return budgetKeys{budget: p + "budget", rateKey: "rate:" + p + "budget", limit: p + "limit",
		holdRate: p + "hold:rate", holdOutage: p + "hold:outage", outageStreak: p + "outage:streak"}
}

func (k keyspace) lease(tileset string) string     { return k.prefix + "lease:" + tileset }
func (k keyspace) fence(tileset string) string     { return k.prefix + "fence:" + tileset }
func (k keyspace) leaseInfo(tileset string) string { return k.prefix + "lease-info:" + tileset }
func (k keyspace) held(tileset string) string      { return k.prefix + "held:" + tileset }
func (k keyspace) intent(tileset string) string    { return k.prefix + "intent:" + tileset }
