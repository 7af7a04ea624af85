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

// budget is the GCRA limiter's key as given to redis_rate, which prefixes
// it with "rate:".
func (k keyspace) budget() string       { return k.prefix + "budget" }
func (k keyspace) limit() string        { return k.prefix + "limit" }
func (k keyspace) holdRate() string     { return k.prefix + "hold:rate" }
func (k keyspace) holdOutage() string   { return k.prefix + "hold:outage" }
func (k keyspace) outageStreak() string { return k.prefix + "outage:streak" }

func (k keyspace) lease(tileset string) string     { return k.prefix + "lease:" + tileset }
func (k keyspace) fence(tileset string) string     { return k.prefix + "fence:" + tileset }
func (k keyspace) leaseInfo(tileset string) string { return k.prefix + "lease-info:" + tileset }
func (k keyspace) held(tileset string) string      { return k.prefix + "held:" + tileset }
func (k keyspace) intent(tileset string) string    { return k.prefix + "intent:" + tileset }
