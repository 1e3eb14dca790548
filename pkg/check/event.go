package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ProtocolVersion is the value of every event's "v" field.
const ProtocolVersion = 1

// EventType says what an Event is.
type EventType string

// Event types.
const (
	TypeCheck  EventType = "check"  // one verified fact, with a Status
	TypeInfo   EventType = "info"   // context (the path the pod got, the endpoint used), no verdict
	TypeResult EventType = "result" // the verdict, last
)

// Status is the outcome of a check or of the whole run.
type Status string

// Statuses, from best to worst for a check: pass, skip, warn, fail.
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Event is one line of the probe's output. Adding fields is allowed; renaming or retyping one
// is not.
type Event struct {
	V       int       `json:"v"`
	Time    time.Time `json:"time"`
	Type    EventType `json:"type"`
	Check   string    `json:"check,omitempty"`
	Status  Status    `json:"status,omitempty"`
	Message string    `json:"message"`
	Fix     string    `json:"fix,omitempty"`
	// Detail is lines shown under the check as they are, after its message: a corrected
	// policy as a diff. A message never depends on it.
	Detail string         `json:"detail,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
	// Account is NAMESPACE/NAME of the service account the event is about, set on every event
	// of a fleet run (verify over many accounts), so interleaved runs stay apart; in a fleet of
	// in-pod runs (verify --in-pod with no TARGET), NAMESPACE/KIND/NAME of the workload. The
	// fleet's own verdict, its last line, is a result event without one.
	Account string `json:"account,omitempty"`
}

// Valid reports whether the event has a known version, type and status, so a decoder can tell
// an event from a line that merely happens to be JSON.
func (e Event) Valid() error {
	if e.V != ProtocolVersion {
		return fmt.Errorf("unsupported event version %d", e.V)
	}
	switch e.Type {
	case TypeCheck, TypeResult:
		switch e.Status {
		case StatusPass, StatusWarn, StatusFail, StatusSkip:
		default:
			return fmt.Errorf("unknown status %q", e.Status)
		}
	case TypeInfo:
	default:
		return fmt.Errorf("unknown event type %q", e.Type)
	}
	if e.Type == TypeCheck && e.Check == "" {
		return errors.New("check event without a check name")
	}
	return nil
}

// Sink receives events as they happen.
type Sink interface {
	Emit(Event) error
}

// JSONSink writes each event as one JSON line, unbuffered, safe for concurrent use.
type JSONSink struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONSink writes events to w.
func NewJSONSink(w io.Writer) *JSONSink {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONSink{enc: enc}
}

// Emit implements Sink.
func (s *JSONSink) Emit(ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc.Encode(ev)
}

// Line is one line of a probe's output: an Event, or Raw text that is not one.
type Line struct {
	Event *Event
	Raw   string
}

// DecodeLine turns one line into an Event when it is one, and into Raw text otherwise.
func DecodeLine(b []byte) Line {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var ev Event
		if err := json.Unmarshal(trimmed, &ev); err == nil && ev.Valid() == nil {
			return Line{Event: &ev}
		}
	}
	return Line{Raw: string(bytes.TrimRight(b, "\r\n"))}
}

// maxLine bounds one line of a probe's output; longer lines are split, never dropped.
const maxLine = 1 << 20

// ReadLines decodes r line by line, calling fn for each, until r ends or fn returns an error.
func ReadLines(r io.Reader, fn func(Line) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	for sc.Scan() {
		if err := fn(DecodeLine(sc.Bytes())); err != nil {
			return err
		}
	}
	return sc.Err()
}

// New is a check event: the check name, its status, what it found and the fix when it did
// not pass.
func New(name string, status Status, msg, fix string, data map[string]any) Event {
	return Event{Type: TypeCheck, Check: name, Status: status, Message: msg, Fix: fix, Data: data}
}
