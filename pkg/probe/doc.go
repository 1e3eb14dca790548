// Package probe is what runs inside the probe pod (`kubectl-wi probe`), and the event
// protocol it speaks to the plugin.
//
// # The event protocol
//
// The probe writes one JSON object per line on stdout, unbuffered, and nothing else. The
// plugin reads the pod's log and decodes each line with the same Event type:
//
//	{"v":1,"time":"...","type":"check","check":"token.audience","status":"pass","message":"aud contains sts.amazonaws.com","data":{"aud":["sts.amazonaws.com"]}}
//	{"v":1,"time":"...","type":"result","status":"fail","message":"1 of 9 checks failed","fix":"..."}
//
// Type is one of check (one verified fact), info (context, never a verdict) and result (the
// last line: the verdict). Status is one of pass, warn, fail and skip. A failing check carries
// a Fix: one line the user can act on.
//
// Compatibility: adding fields is allowed; renaming or retyping one is not. A line that does
// not decode as an Event is shown to the user as raw output, never dropped.
//
// Secrets never appear in an event: not the token, not the session token, not the secret key.
// Checks put claims (aud, iss, sub, exp) and ARNs in Data, never the token itself.
//
// This package has no cobra, no bubbletea and never touches os.Stdout or os.Stderr: the caller
// passes the writer.
package probe
