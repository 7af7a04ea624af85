package state

import (
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// In fleet mode a node spends 1/N of the account's budget while the
// fleet's Redis cannot be reached, N being the nodes it last saw alive.
// That count is kept so that a node starting while Redis is down knows it:
//
//	meta   "fleet_nodes" → the count, in decimal
//
// No key means the node never reached its fleet's Redis.

var keyFleetNodes = []byte("fleet_nodes")

// FleetNodesSeen returns how many nodes were alive when this node last
// reached its fleet's Redis; 0 if it never did.
func (s *Store) FleetNodesSeen() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyFleetNodes); v != nil {
			n, _ = strconv.Atoi(string(v)) // a damaged count reads as unknown
		}
		return nil
	})
	return max(n, 0), err
}

// SetFleetNodesSeen records how many nodes were alive when this node last
// reached its fleet's Redis.
func (s *Store) SetFleetNodesSeen(n int) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFleetNodes, []byte(strconv.Itoa(max(n, 0))))
	})
}
