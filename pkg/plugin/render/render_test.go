package render

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// replay feeds a recorded stream (testdata/streams at the repository's root) to rep, as Run
// would: each line an event or, when it is not one, raw output.
func replay(t *testing.T, stream string, rep report.Reporter) {
	t.Helper()
	f, err := os.Open("../../../testdata/streams/" + stream)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = check.ReadLines(f, func(l check.Line) error {
		if l.Event != nil {
			rep.Event(*l.Event)
		} else {
			rep.Raw(l.Raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestText renders each recorded verify run as plain text, against testdata/<name>.golden.
func TestText(t *testing.T) {
	for _, name := range []string{"pass", "trust-policy", "audience", "minio", "not-mutated"} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			txt := NewText(&buf)
			replay(t, "verify-"+name+".jsonl", txt)
			if err := txt.Err(); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "\x1b") {
				t.Error("control codes in plain text")
			}
			golden.RequireEqual(t, buf.Bytes())
		})
	}
}

// TestTextRawAndControlCodes: a line that is not an event is indented, and nothing from a
// pod's log reaches the terminal as a control code.
func TestTextRawAndControlCodes(t *testing.T) {
	var buf bytes.Buffer
	txt := NewText(&buf)
	txt.Raw("panic: \x1b[31mboom\x1b[0m\tat line 1")
	txt.Event(check.Event{V: 1, Type: check.TypeCheck, Check: "token.file", Status: check.StatusFail, Message: "cannot read\x07 the token", Fix: "one\ntwo"})
	txt.Event(check.Event{V: 1, Type: check.TypeResult, Status: check.StatusFail, Message: "1 of 1 checks failed", Fix: "one\n\ntwo\n"})
	want := "     panic: [31mboom[0m at line 1\n" +
		"FAIL token.file  cannot read the token\n" +
		"\nFAIL 1 of 1 checks failed\n  fix: one\n  fix: two\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

// TestJSON writes the events as they came and a raw line as a probe.output info event, so
// every line decodes.
func TestJSON(t *testing.T) {
	in, err := os.ReadFile("../../../testdata/streams/verify-trust-policy.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	j := NewJSON(&buf, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	replay(t, "verify-trust-policy.jsonl", j)
	j.Raw("not an event")
	if err := j.Err(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := strings.Split(strings.TrimSpace(string(in)), "\n")
	if len(got) != len(want)+1 {
		t.Fatalf("%d lines, want %d", len(got), len(want)+1)
	}
	for i := range want {
		var a, b check.Event
		if err := json.Unmarshal([]byte(got[i]), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(want[i]), &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("line %d\n %s\nwant\n %s", i, ja, jb)
		}
	}
	last := check.DecodeLine([]byte(got[len(got)-1]))
	if last.Event == nil || last.Event.Type != check.TypeInfo || last.Event.Check != verify.CheckProbeOutput || last.Event.Message != "not an event" {
		t.Errorf("raw line became %+v", last)
	}
}
