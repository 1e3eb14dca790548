package check

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecodeLine(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		wantEvent bool
		wantRaw   string
	}{
		{name: "check", line: `{"v":1,"time":"2026-01-02T03:04:05Z","type":"check","check":"token.audience","status":"pass","message":"ok"}`, wantEvent: true},
		{name: "result with CRLF", line: `{"v":1,"type":"result","status":"fail","message":"1 of 9 checks failed"}` + "\r\n", wantEvent: true},
		{name: "info without status", line: `{"v":1,"type":"info","message":"x"}`, wantEvent: true},
		{name: "plain text", line: "panic: boom\n", wantRaw: "panic: boom"},
		{name: "other JSON", line: `{"level":"info","msg":"hi"}`, wantRaw: `{"level":"info","msg":"hi"}`},
		{name: "future version", line: `{"v":2,"type":"check","check":"x","status":"pass"}`, wantRaw: `{"v":2,"type":"check","check":"x","status":"pass"}`},
		{name: "unknown status", line: `{"v":1,"type":"check","check":"x","status":"great"}`, wantRaw: `{"v":1,"type":"check","check":"x","status":"great"}`},
		{name: "check without name", line: `{"v":1,"type":"check","status":"pass"}`, wantRaw: `{"v":1,"type":"check","status":"pass"}`},
		{name: "retyped field", line: `{"v":"1","type":"check","check":"x","status":"pass"}`, wantRaw: `{"v":"1","type":"check","check":"x","status":"pass"}`},
		{name: "empty", line: "", wantRaw: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeLine([]byte(tt.line))
			if (got.Event != nil) != tt.wantEvent {
				t.Fatalf("got %+v", got)
			}
			if !tt.wantEvent && got.Raw != tt.wantRaw {
				t.Errorf("raw %q, want %q", got.Raw, tt.wantRaw)
			}
		})
	}
}

// TestJSONSinkRoundTrip checks what the probe writes is what the plugin reads.
func TestJSONSinkRoundTrip(t *testing.T) {
	testNow := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var buf bytes.Buffer
	sink := NewJSONSink(&buf)
	in := []Event{
		{V: 1, Time: testNow, Type: TypeCheck, Check: "token.audience", Status: StatusPass, Message: "aud contains <sts>", Data: map[string]any{"aud": []string{"sts.amazonaws.com"}}},
		{V: 1, Time: testNow.Add(time.Second), Type: TypeResult, Status: StatusFail, Message: "1 of 9 checks failed", Fix: "a\nb"},
	}
	for _, ev := range in {
		if err := sink.Emit(ev); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteString("raw line\n")
	var got []Line
	if err := ReadLines(&buf, func(l Line) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Event == nil || got[1].Event == nil || got[2].Raw != "raw line" {
		t.Fatalf("got %+v", got)
	}
	if got[0].Event.Message != "aud contains <sts>" || got[1].Event.Fix != "a\nb" || !got[1].Event.Time.Equal(in[1].Time) {
		t.Errorf("round trip changed events: %+v %+v", got[0].Event, got[1].Event)
	}
}

// FuzzDecodeLine: DecodeLine never panics, and returns either a valid Event or the line itself.
func FuzzDecodeLine(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"time":"2026-01-02T03:04:05Z","type":"check","check":"token.audience","status":"pass","message":"aud contains sts.amazonaws.com","data":{"aud":["sts.amazonaws.com"]}}`,
		`{"v":1,"type":"result","status":"fail","message":"1 of 9 checks failed","fix":"x"}`,
		`{"v":1,"type":"info","message":"x","data":{"n":1.5e300}}`,
		`{"v":1,"type":"check"`,
		`{"v":1e400}`,
		`{"time":"not a time","v":1,"type":"info"}`,
		"plain \x00 text\r\n",
		"{\xff}",
		"",
		" ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := DecodeLine(b)
		switch {
		case l.Event != nil && l.Raw != "":
			t.Fatalf("both an event and raw text: %+v", l)
		case l.Event != nil:
			if err := l.Event.Valid(); err != nil {
				t.Fatalf("invalid event decoded: %v", err)
			}
			if _, err := json.Marshal(l.Event); err != nil {
				t.Fatalf("decoded event does not encode: %v", err)
			}
		default:
			if want := strings.TrimRight(string(b), "\r\n"); l.Raw != want {
				t.Fatalf("raw %q, want %q", l.Raw, want)
			}
		}
	})
}
