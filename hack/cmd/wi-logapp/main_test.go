package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/hack/logapp"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      string
		want     []logapp.Class // classes whose lines are printed
		wantLast string
		wantErr  bool
	}{
		{name: "every class by default", want: logapp.Classes(), wantLast: "of all;"},
		{name: "the flag picks a class", args: []string{"-classes", "loopback-only"}, want: []logapp.Class{logapp.LoopbackOnly}, wantLast: "of loopback-only;"},
		{name: "the env picks classes", env: "expired-token,web-identity", want: []logapp.Class{logapp.WebIdentity, logapp.ExpiredToken}, wantLast: "of expired-token,web-identity;"},
		{name: "the flag wins over the env", args: []string{"-classes=not-loopback"}, env: "expired-token", want: []logapp.Class{logapp.NotLoopback}},
		{name: "an unknown class", args: []string{"-classes", "nope"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			var out bytes.Buffer
			err := run(ctx, tt.args, func(k string) string {
				if k == classesEnv {
					return tt.env
				}
				return ""
			}, &out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("run() error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			var want strings.Builder
			for _, l := range logapp.Lines() {
				for _, c := range tt.want {
					if l.Class == c {
						want.WriteString(l.Text + "\n")
					}
				}
			}
			got := out.String()
			if !strings.HasPrefix(got, want.String()) {
				t.Errorf("printed:\n%s\nwant the lines:\n%s", got, want.String())
			}
			last := strings.TrimPrefix(got, want.String())
			if !strings.HasPrefix(last, "wi-logapp: printed ") || strings.Count(last, "\n") != 1 || !strings.Contains(last, tt.wantLast) {
				t.Errorf("after the lines: %q, want one line holding %q", last, tt.wantLast)
			}
		})
	}
}
