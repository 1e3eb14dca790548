package applog

import (
	"bufio"
	"io"
)

// Finding is one line that matched a signature.
type Finding struct {
	Signature Signature
	Number    int    // the line's number in what was read, from 1
	Line      string // the line, redacted and cut to MaxShownLength
}

// MaxShownLength bounds a Finding's line, in bytes, after redaction.
const MaxShownLength = 400

// maxLineBytes bounds what is kept of one line for matching; the rest of a longer line is
// read and dropped, so one huge line cannot hold the whole log in memory.
const maxLineBytes = 64 << 10

// Scan reads r line by line, at most maxLines lines (no limit when maxLines <= 0), and
// returns the lines that match a signature. It stops at the end of r or at its first read
// error: what was read is still judged.
func Scan(r io.Reader, maxLines int) []Finding {
	br := bufio.NewReader(r)
	var out []Finding
	for n := 1; maxLines <= 0 || n <= maxLines; n++ {
		line, err := readLine(br)
		if err != nil {
			break
		}
		if sig, ok := Match(line); ok {
			out = append(out, Finding{Signature: sig, Number: n, Line: shorten(Redact(line))})
		}
	}
	return out
}

// readLine returns the next line without its line ending, keeping at most maxLineBytes of
// it. The error is io.EOF once the input is done.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, isPrefix, err := br.ReadLine()
		if err != nil {
			if len(buf) > 0 {
				return string(buf), nil
			}
			return "", err
		}
		if room := maxLineBytes - len(buf); room > 0 {
			buf = append(buf, frag[:min(len(frag), room)]...)
		}
		if !isPrefix {
			return string(buf), nil
		}
	}
}

// shorten cuts a redacted line to MaxShownLength bytes, on a rune boundary.
func shorten(s string) string {
	if len(s) <= MaxShownLength {
		return s
	}
	cut := MaxShownLength
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
