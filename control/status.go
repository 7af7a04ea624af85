package control

import (
	"cmp"
	"slices"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// Status is what /status answers and `tilesyncd status` prints. A status read
// from the state file alone (no daemon) has Source "state file" and only
// State, LastSuccess and Refused set. The refused files are in Refused, with
// their names (State.Refused is left empty: its records do not encode them).
type Status struct {
	Source    string    `json:"source"` // SourceDaemon or SourceStateFile
	Version   string    `json:"version,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Health    *Health   `json:"health,omitempty"`
	AuthError string    `json:"auth_error,omitempty"` // Mapbox refuses the token
	// LastSuccess is when an upload last completed.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Uploads counts the uploads that ended since the daemon started, by result.
	Uploads   map[string]int64 `json:"uploads,omitempty"`
	State     state.Snapshot   `json:"state"`
	Transfers []Transfer       `json:"transfers,omitempty"`
	Budget    *Budget          `json:"budget,omitempty"`
	Watch     []Watch          `json:"watch,omitempty"`
	// Refused are the files Mapbox cannot take (State.Refused, named).
	Refused []Refused `json:"refused,omitempty"`
	// Bandwidth is the cap on staging in force (bandwidth.go); nil: none set.
	Bandwidth *Bandwidth `json:"bandwidth,omitempty"`
	// Paused are the watch folders whose files are not sent until they
	// resume (from the daemon, or as recorded in the state file).
	Paused []string `json:"paused,omitempty"`
	// Fleet is fleet mode (fleet.go): nodes, leases, what waits for it.
	Fleet *Fleet `json:"fleet,omitempty"`
}

// Refused is a file Mapbox cannot take, and why.
type Refused struct {
	Source  state.FileKey `json:"source"`
	Tileset string        `json:"tileset,omitempty"`
	Reason  string        `json:"reason"`
	Since   time.Time     `json:"since"`
}

// newStatus fills what the state database tells. The refused files move
// from State to Refused, where they keep their names.
func newStatus(source string, snap state.Snapshot) Status {
	st := Status{Source: source, State: snap, LastSuccess: lastUploaded(snap.Recent)}
	for _, r := range snap.Refused {
		st.Refused = append(st.Refused, Refused{Source: r.Key, Tileset: r.Tileset, Reason: r.Reason, Since: r.UpdatedAt})
	}
	st.State.Refused = nil
	return st
}

// Status sources.
const (
	SourceDaemon    = "daemon"
	SourceStateFile = "state file"
)

// Transfer is the staging progress of one job.
type Transfer struct {
	JobID   uint64        `json:"job_id"`
	Tileset string        `json:"tileset,omitempty"`
	Source  state.FileKey `json:"source"`
	Sent    int64         `json:"sent"`
	Total   int64         `json:"total"`
}

// Budget is the API rate budget.
type Budget struct {
	Limit         int       `json:"limit"`          // requests per window
	WindowSeconds float64   `json:"window_seconds"` // the window
	Spacing       float64   `json:"spacing_seconds"`
	Granted       int64     `json:"granted"`
	RateLimited   int64     `json:"rate_limited"` // 429 answers
	WaitedSeconds float64   `json:"waited_seconds"`
	Waiting       int       `json:"waiting"` // requests waiting now
	BlockedUntil  time.Time `json:"blocked_until,omitzero"`
	// Shared: the fleet's budget, shared by Nodes nodes; Fallback: Redis
	// does not answer, and this node spends its share alone meanwhile.
	Shared   bool `json:"shared,omitempty"`
	Fallback bool `json:"fallback,omitempty"`
	Nodes    int  `json:"nodes,omitempty"`
}

// Watch is one watch folder's watcher.
type Watch struct {
	Folder    string    `json:"folder"`
	Mode      string    `json:"mode"` // in effect, and why: "poll (nfs)"
	Files     int       `json:"files"`
	Pending   int       `json:"pending"` // settling
	Watches   int       `json:"watches"`
	Scans     int       `json:"scans"`
	Overflows int       `json:"overflows"`
	LastScan  time.Time `json:"last_scan,omitzero"`
	// PollEverySeconds is, in poll mode, the wait between two poll
	// cycles: the poll interval, or longer when a cycle is costly.
	PollEverySeconds float64 `json:"poll_every_seconds,omitempty"`
	// Paused: the folder is watched and its changes queue, but nothing of
	// it is sent until it resumes.
	Paused bool `json:"paused,omitempty"`
}

// DefaultStatusLimit is how many queued jobs and history entries /status
// lists without ?limit=.
const DefaultStatusLimit = 20

// Status gathers the daemon's status; limit bounds the queued jobs and
// history entries listed.
func (s *Server) Status(limit int) (Status, error) {
	snap, err := s.src.Records().Snapshot(limit)
	if err != nil {
		return Status{}, err
	}
	h := s.Health()
	st := newStatus(SourceDaemon, snap)
	st.Version, st.Started, st.Health, st.LastSuccess = s.version, s.started, &h, s.lastSuccess()
	act := s.src.Activity()
	if act.AuthError != nil {
		st.AuthError = act.AuthError.Error()
	}
	st.Uploads = map[string]int64{}
	for i, v := range act.outcomes() {
		st.Uploads[results[i]] = v
	}
	for id, t := range act.Transfers {
		tr := Transfer{JobID: id, Sent: t.Sent, Total: t.Total}
		for _, j := range snap.Active {
			if j.ID == id {
				tr.Tileset, tr.Source = j.Tileset, j.Source
			}
		}
		st.Transfers = append(st.Transfers, tr)
	}
	slices.SortFunc(st.Transfers, func(a, b Transfer) int { return cmp.Compare(a.JobID, b.JobID) })
	st.Bandwidth = bandwidthOf(s.src)
	b := s.src.BudgetStats()
	st.Budget = &Budget{Limit: b.Limit, WindowSeconds: b.Window.Seconds(), Spacing: b.Spacing.Seconds(),
		Granted: b.Granted, RateLimited: b.RateLimited, WaitedSeconds: b.Waited.Seconds(), Waiting: b.Waiting,
		Shared: b.Shared, Fallback: b.Fallback, Nodes: b.Nodes}
	if b.BlockedUntil.After(s.now()) {
		st.Budget.BlockedUntil = b.BlockedUntil
	}
	if s.actions != nil {
		st.Paused = s.actions.Paused()
	}
	st.Fleet = s.fleetStatus() // fleet.go
	for _, ws := range s.src.Folders() {
		st.Watch = append(st.Watch, Watch{Folder: ws.Root, Mode: ws.Mode, Files: ws.Files, Pending: ws.Pending,
			Watches: ws.Watches, Scans: ws.Scans, Overflows: ws.Overflows, LastScan: ws.LastScan,
			PollEverySeconds: ws.PollEvery.Seconds(), Paused: slices.Contains(st.Paused, ws.Root)})
	}
	return st, nil
}

// StatusFromStore is the status that the state database alone tells, for
// when no daemon runs.
func StatusFromStore(store *state.Store, limit int) (Status, error) {
	snap, err := store.Snapshot(limit)
	if err != nil {
		return Status{}, err
	}
	st := newStatus(SourceStateFile, snap)
	if st.Paused, err = store.PausedFolders(); err != nil {
		return Status{}, err
	}
	return st, nil
}

// lastUploaded is the time of the newest upload in history entries, newest first.
func lastUploaded(recent []state.HistoryEntry) time.Time {
	for _, e := range recent {
		if e.Outcome == state.OutcomeUploaded {
			return e.Time
		}
	}
	return time.Time{}
}
