package watcher

// outbox holds the events not yet taken by the consumer, at most one per path:
// a newer event for a path replaces the waiting one in place (a Ready then a
// Removed leaves the Removed; a second Ready carries the newer size). Its size
// is therefore bounded by the number of files, however slow the consumer.
type outbox struct {
	byKey map[string]Event
	queue []string // keys in arrival order; head first
	head  int
}

// shrinkAbove is the queue capacity above which an emptied outbox gives
// its memory back.
const shrinkAbove = 4096

// markerKey is the key of the InitialScanDone event, which no path can have.
const markerKey = ""

func newOutbox() *outbox { return &outbox{byKey: make(map[string]Event)} }

func (o *outbox) push(key string, ev Event) {
	if _, ok := o.byKey[key]; !ok {
		o.queue = append(o.queue, key)
	}
	o.byKey[key] = ev
}

func (o *outbox) peek() (Event, bool) {
	if o.head == len(o.queue) {
		return Event{}, false
	}
	return o.byKey[o.queue[o.head]], true
}

func (o *outbox) pop() {
	delete(o.byKey, o.queue[o.head])
	o.queue[o.head] = ""
	o.head++
	switch {
	case o.head == len(o.queue) && cap(o.queue) > shrinkAbove:
		// Empty after a burst (the startup scan queues every file): a Go
		// map never shrinks, so both are made anew and the peak goes back.
		o.byKey, o.queue, o.head = make(map[string]Event), nil, 0
	case o.head == len(o.queue):
		o.queue, o.head = o.queue[:0], 0
	case o.head > 1024 && o.head > len(o.queue)/2:
		n := copy(o.queue, o.queue[o.head:])
		o.queue, o.head = o.queue[:n], 0
	}
}

func (o *outbox) len() int { return len(o.byKey) }
