package monitor

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

func keys(as []Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.key()
	}
	return out
}

func TestSchedule(t *testing.T) {
	a := Account{Namespace: "ns", Name: "a", Identity: IdentityIRSA}
	b := Account{Namespace: "ns", Name: "b", Identity: IdentityIRSA}
	c := Account{Namespace: "ns", Name: "c", Identity: IdentityIRSA}
	const interval, debounce = 10 * time.Minute, 10 * time.Second
	type step struct {
		at      time.Duration // after t0
		do      string        // sync, take, done:KEY, changed:KEY, seed:KEY
		want    []string      // what take returns
		next    time.Duration // want next() after t0; -1: not checked
		wantDue map[string]time.Duration
	}
	tests := []struct {
		name   string
		jitter float64
		budget int
		rand   float64
		steps  []step
	}{
		{
			name: "new accounts are proven at once without jitter, then an interval later",
			rand: 0.5, steps: []step{
				{at: 0, do: "sync", next: 0},
				{at: 0, do: "take", want: []string{"ns/a", "ns/b", "ns/c"}, next: -1},
				{at: 5 * time.Second, do: "done:ns/a", next: 5*time.Second + interval},
				{at: interval, do: "take", want: nil, next: -1},
				{at: 5*time.Second + interval, do: "take", want: []string{"ns/a"}, next: -1},
			},
		},
		{
			name:   "jitter spreads the first proofs and moves the next",
			jitter: 0.1, rand: 0.25, steps: []step{
				// first: within jitter*interval = 60s, at 0.25 of it
				{at: 0, do: "sync", next: 15 * time.Second},
				{at: 15 * time.Second, do: "take", want: []string{"ns/a", "ns/b", "ns/c"}, next: -1},
				// next: interval * (1 + 0.1*(2*0.25-1)) = 0.95 interval
				{at: 20 * time.Second, do: "done:ns/b", next: 20*time.Second + 570*time.Second},
			},
		},
		{
			name: "a change is proven a debounce after the last of its burst, at most three debounces after the first",
			rand: 0, steps: []step{
				{at: 0, do: "sync", next: 0},
				{at: 0, do: "take", want: []string{"ns/a", "ns/b", "ns/c"}, next: -1},
				{at: time.Second, do: "done:ns/a", next: -1},
				{at: time.Second, do: "done:ns/b", next: -1},
				{at: time.Second, do: "done:ns/c", next: time.Second + interval},
				{at: time.Minute, do: "changed:ns/a", next: time.Minute + debounce},
				{at: time.Minute + 8*time.Second, do: "changed:ns/a", next: time.Minute + 18*time.Second},
				{at: time.Minute + 16*time.Second, do: "changed:ns/a", next: time.Minute + 26*time.Second},
				{at: time.Minute + 25*time.Second, do: "changed:ns/a", next: time.Minute + 30*time.Second}, // capped
				{at: time.Minute + 29*time.Second, do: "take", want: nil, next: -1},
				{at: time.Minute + 30*time.Second, do: "take", want: []string{"ns/a"}, next: -1},
			},
		},
		{
			name: "a change during a proof is proven again after it",
			rand: 0, steps: []step{
				{at: 0, do: "sync", next: 0},
				{at: 0, do: "take", want: []string{"ns/a", "ns/b", "ns/c"}, next: -1},
				{at: time.Second, do: "changed:ns/a", next: -1},
				{at: 2 * time.Second, do: "done:ns/a", wantDue: map[string]time.Duration{"ns/a": 2*time.Second + debounce}, next: -1},
			},
		},
		{
			name:   "the budget bounds the proofs per interval; the rest wait for the next window",
			budget: 2, rand: 0, steps: []step{
				{at: 0, do: "sync", next: 0},
				{at: 0, do: "take", want: []string{"ns/a", "ns/b"}, next: interval},
				{at: time.Minute, do: "take", want: nil, next: -1},
				{at: interval, do: "take", want: []string{"ns/c"}, next: -1},
			},
		},
		{
			name: "a seeded account (proven by the previous leader) waits out its interval",
			rand: 0.5, steps: []step{
				{at: 0, do: "seed:ns/a", next: -1},
				{at: 0, do: "sync", wantDue: map[string]time.Duration{"ns/a": interval - time.Minute, "ns/b": 0}, next: -1},
				{at: 0, do: "take", want: []string{"ns/b", "ns/c"}, next: -1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSchedule(interval, tt.jitter, debounce, tt.budget, func() float64 { return tt.rand })
			for i, st := range tt.steps {
				now := t0.Add(st.at)
				switch {
				case st.do == "sync":
					s.sync([]Account{a, b, c}, now)
				case st.do == "take":
					if got := keys(s.take(now)); !slices.Equal(got, st.want) {
						t.Fatalf("step %d: take = %v, want %v", i, got, st.want)
					}
				case len(st.do) > 5 && st.do[:5] == "done:":
					s.done(st.do[5:], now)
				case len(st.do) > 8 && st.do[:8] == "changed:":
					s.changed(st.do[8:], now)
				case len(st.do) > 5 && st.do[:5] == "seed:":
					s.seed(st.do[5:], t0.Add(-time.Minute))
				}
				if st.next >= 0 {
					if got := s.next(); !got.Equal(t0.Add(st.next)) {
						t.Fatalf("step %d (%s): next = %s, want %s", i, st.do, got.Sub(t0), st.next)
					}
				}
				for k, d := range st.wantDue {
					if got := s.due[k]; !got.Equal(t0.Add(d)) {
						t.Fatalf("step %d: due[%s] = %s, want %s", i, k, got.Sub(t0), d)
					}
				}
			}
		})
	}
}

func TestScheduleSyncDropsGoneAccounts(t *testing.T) {
	a := Account{Namespace: "ns", Name: "a", Identity: IdentityIRSA}
	b := Account{Namespace: "ns", Name: "b", Identity: IdentityIRSA}
	s := newSchedule(time.Minute, 0, time.Second, 0, func() float64 { return 0 })
	s.sync([]Account{a, b}, t0)
	gone := s.sync([]Account{a}, t0)
	if !slices.Equal(keys(gone), []string{"ns/b"}) {
		t.Fatalf("gone = %v, want ns/b", keys(gone))
	}
	if got := keys(s.take(t0)); !slices.Equal(got, []string{"ns/a"}) {
		t.Fatalf("take = %v, want ns/a only", got)
	}
	// Another identity type is a change: proven a debounce later.
	s.done("ns/a", t0)
	s.sync([]Account{{Namespace: "ns", Name: "a", Identity: IdentityPodIdentity}}, t0.Add(time.Second))
	if got := s.next(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("next = %s, want 2s", got.Sub(t0))
	}
}
