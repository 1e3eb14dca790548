// Package check is the event model every engine reports in, and the protocol the probe speaks
// to the plugin: an Event (a check with its Status, an info, or the verdict), the JSON line it
// travels as, and the Tally that words a run's verdict from its checks. It imports nothing of
// the project, so the engines that report checks (verify, explain) and podidentity, which reads
// verify's events of its proofs, share it without importing one another for it.
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
// A fleet run (verify over many accounts) writes every account's events, each with its
// Account, then one result event without an Account, last: the fleet's verdict (fail unless
// every account passed), its message the tally ("1 of 4 service accounts passed"), its data
// passed, total and accounts (each account's account, status and message).
//
// Compatibility: adding fields is allowed; renaming or retyping one is not. A line that does
// not decode as an Event is shown to the user as raw output, never dropped.
//
// Secrets never appear in an event: not the token, not the session token, not the secret key.
// Checks put claims (aud, iss, sub, exp) and ARNs in Data, never the token itself.
package check
