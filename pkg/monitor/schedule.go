package monitor

import (
	"cmp"
	"slices"
	"time"
)

// schedule says which accounts fall due for a proof: every interval (jittered, so a fleet's
// proofs spread out), and soon after a change that can break one, debounced so that a burst
// of changes (a rollout's pods) gives one proof. It keeps a budget of proofs per interval.
// It holds no clock: every call is given the time.
type schedule struct {
	interval, debounce time.Duration
	jitter             float64
	budget             int            // proofs per interval; 0: no bound
	rand               func() float64 // in [0, 1)

	accounts map[string]Account
	due      map[string]time.Time
	// changedAt is the first of a burst of changes not yet proven: a burst that goes on
	// does not put the proof off for more than maxDebounces debounces.
	changedAt map[string]time.Time
	inFlight  map[string]bool
	// changedInFlight are accounts that changed while being proven: proven again after.
	changedInFlight map[string]bool
	// seeds are when accounts were last proven, by a previous leader (its status object).
	seeds map[string]time.Time

	windowStart time.Time
	spent       int
}

// maxDebounces bounds how long a burst of changes puts a proof off, in debounces.
const maxDebounces = 3

func newSchedule(interval time.Duration, jitter float64, debounce time.Duration, budget int, rnd func() float64) *schedule {
	return &schedule{
		interval: interval, jitter: jitter, debounce: debounce, budget: budget, rand: rnd,
		accounts: map[string]Account{}, due: map[string]time.Time{}, changedAt: map[string]time.Time{},
		inFlight: map[string]bool{}, changedInFlight: map[string]bool{}, seeds: map[string]time.Time{},
	}
}

// jittered is the interval, moved by up to ±jitter of itself.
func (s *schedule) jittered() time.Duration {
	return time.Duration(float64(s.interval) * (1 + s.jitter*(2*s.rand()-1)))
}

// seed says an account was last proven at t (by a previous leader): it falls due an interval
// after that rather than at once, so a new leader does not prove the fleet again.
func (s *schedule) seed(key string, t time.Time) { s.seeds[key] = t }

// sync sets the accounts to prove. A new one falls due within the first jitter of an
// interval (at once without jitter), or an interval after its seed; it returns the
// accounts that are gone.
func (s *schedule) sync(accounts []Account, now time.Time) (gone []Account) {
	seen := map[string]bool{}
	for _, a := range accounts {
		k := a.key()
		seen[k] = true
		old, known := s.accounts[k]
		s.accounts[k] = a
		if known && old.Identity == a.Identity {
			continue
		}
		if known {
			s.changed(k, now) // another identity type: its proof is another one
			continue
		}
		if t, ok := s.seeds[k]; ok && now.Sub(t) < s.interval {
			s.due[k] = t.Add(s.jittered())
			continue
		}
		s.due[k] = now.Add(time.Duration(float64(s.interval) * s.jitter * s.rand()))
	}
	for k, a := range s.accounts {
		if !seen[k] {
			gone = append(gone, a)
			delete(s.accounts, k)
			delete(s.due, k)
			delete(s.changedAt, k)
			delete(s.changedInFlight, k)
		}
	}
	slices.SortFunc(gone, func(a, b Account) int { return cmp.Compare(a.key(), b.key()) })
	return gone
}

// changed says something that can break the account changed at now: it falls due a debounce
// after the last change of a burst (at most maxDebounces after its first), or sooner when
// its scheduled proof comes sooner.
func (s *schedule) changed(key string, now time.Time) {
	if _, ok := s.accounts[key]; !ok {
		return
	}
	if s.inFlight[key] {
		s.changedInFlight[key] = true
		return
	}
	first, pending := s.changedAt[key]
	if !pending {
		first = now
		s.changedAt[key] = now
	}
	at := now.Add(s.debounce)
	if limit := first.Add(maxDebounces * s.debounce); at.After(limit) {
		at = limit
	}
	if d, ok := s.due[key]; ok && !pending && d.Before(at) {
		return // its scheduled proof comes sooner
	}
	s.due[key] = at
}

// take returns the accounts due at now, the longest due first, within what is left of the
// interval's budget, and marks them in flight.
func (s *schedule) take(now time.Time) []Account {
	s.window(now)
	var keys []string
	for k, d := range s.due {
		if !s.inFlight[k] && !d.After(now) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(s.due[a].Compare(s.due[b]), cmp.Compare(a, b)) })
	if s.budget > 0 && len(keys) > s.budget-s.spent {
		keys = keys[:max(0, s.budget-s.spent)]
	}
	s.spent += len(keys)
	out := make([]Account, len(keys))
	for i, k := range keys {
		out[i] = s.accounts[k]
		s.inFlight[k] = true
		delete(s.changedAt, k)
	}
	return out
}

// window starts a new budget window when the interval since the last one started is over.
func (s *schedule) window(now time.Time) {
	if s.windowStart.IsZero() || !now.Before(s.windowStart.Add(s.interval)) {
		s.windowStart, s.spent = now, 0
	}
}

// done says the account's proof ended at now (or was abandoned): it falls due an interval
// later, or a debounce later when it changed meanwhile.
func (s *schedule) done(key string, now time.Time) {
	delete(s.inFlight, key)
	if _, ok := s.accounts[key]; !ok {
		return
	}
	s.due[key] = now.Add(s.jittered())
	if s.changedInFlight[key] {
		delete(s.changedInFlight, key)
		s.changed(key, now)
	}
}

// next is when take next has work: the earliest due account, or the next budget window when
// this one's budget is spent. Zero when no account is known.
func (s *schedule) next() time.Time {
	var at time.Time
	for k, d := range s.due {
		if s.inFlight[k] {
			continue
		}
		if at.IsZero() || d.Before(at) {
			at = d
		}
	}
	if !at.IsZero() && s.budget > 0 && s.spent >= s.budget && !s.windowStart.IsZero() {
		if end := s.windowStart.Add(s.interval); at.Before(end) {
			at = end
		}
	}
	return at
}
