package targets

import (
	"strings"
	"testing"
)

func TestCheckArgs(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"web"}},
		{args: []string{"deployment/web", "app"}},
		{args: []string{"serviceaccount/deployment"}},
		{args: []string{"deployment", "web"}, wantErr: `"deployment web": TARGET is KIND/NAME or NAME, not KIND NAME: write deployment/web`},
		{args: []string{"sa", "app"}, wantErr: "write sa/app"},
		{args: []string{"STS", "db"}, wantErr: "write sts/db"},
		{args: []string{"storagecluster", "px"}, wantErr: "write storagecluster/px"},
		{args: []string{"deployment"}, wantErr: `"deployment" is a kind, not a name: TARGET is KIND/NAME (e.g. deployment/NAME) or NAME; a service account named "deployment" is serviceaccount/deployment`},
		{args: []string{"app", "deployment", "sa/x"}, wantErr: `"deployment" is a kind`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := Builtin().CheckArgs(tt.args)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"web", "worker", "db", "default", "payments-api"}
	tests := []struct{ name, want string }{
		{"wbe", "web"},  // two letters swapped
		{"weeb", "web"}, // one extra
		{"we", "web"},   // prefix
		{"payments", "payments-api"},
		{"paymnts-api", "payments-api"},
		{"dfault", "default"},
		{"x", ""},   // nothing close
		{"zz", ""},  // two edits from db, but as long as the name
		{"web", ""}, // exists: nothing to suggest
		{"cache", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.name, names); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"web", "web", 0}, {"wbe", "web", 1}, {"web", "", 3}, {"kitten", "sitting", 3}, {"ab", "ba", 1}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSuggestValue(t *testing.T) {
	known := []string{"sts.amazonaws.com", "openshift"}
	for value, want := range map[string]string{
		"sts.amazon.com":     "sts.amazonaws.com",
		"sts.amazonaws.con":  "sts.amazonaws.com",
		"sts.amazonaws.com":  "",
		"openshfit":          "openshift",
		"my-cluster":         "",
		"sts":                "",
		"api.example.com":    "",
		"sts.amazonaws.com.": "sts.amazonaws.com",
	} {
		if got := SuggestValue(value, known); got != want {
			t.Errorf("SuggestValue(%q) = %q, want %q", value, got, want)
		}
	}
}
