package probe

import (
	"context"
	"net/http"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

func TestResolveSTSTarget(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		flagRegion string
		want       STSTarget
		wantURL    string
	}{
		{
			name:    "nothing set: us-east-1, global",
			want:    STSTarget{Region: "us-east-1", RegionSource: "default"},
			wantURL: "https://sts.amazonaws.com",
		},
		{
			name:       "flag region, legacy mode",
			flagRegion: "eu-west-1",
			want:       STSTarget{Region: "eu-west-1", RegionSource: "--region"},
			wantURL:    "https://sts.amazonaws.com",
		},
		{
			name:       "AWS_REGION wins over AWS_DEFAULT_REGION and the flag",
			env:        map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1"},
			flagRegion: "ap-south-1",
			want:       STSTarget{Region: "us-west-2", RegionSource: "AWS_REGION"},
			wantURL:    "https://sts.amazonaws.com",
		},
		{
			name:    "AWS_DEFAULT_REGION",
			env:     map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"},
			want:    STSTarget{Region: "eu-west-1", RegionSource: "AWS_DEFAULT_REGION"},
			wantURL: "https://sts.amazonaws.com",
		},
		{
			name:    "regional endpoints",
			env:     map[string]string{"AWS_REGION": "us-west-2", "AWS_STS_REGIONAL_ENDPOINTS": "regional"},
			want:    STSTarget{Region: "us-west-2", RegionSource: "AWS_REGION", Regional: true},
			wantURL: "https://sts.us-west-2.amazonaws.com",
		},
		{
			name:    "legacy mode in a region opened after 2019 is regional anyway",
			env:     map[string]string{"AWS_REGION": "ap-east-1"},
			want:    STSTarget{Region: "ap-east-1", RegionSource: "AWS_REGION"},
			wantURL: "https://sts.ap-east-1.amazonaws.com",
		},
		{
			name:    "China partition",
			env:     map[string]string{"AWS_REGION": "cn-north-1", "AWS_STS_REGIONAL_ENDPOINTS": "regional"},
			want:    STSTarget{Region: "cn-north-1", RegionSource: "AWS_REGION", Regional: true},
			wantURL: "https://sts.cn-north-1.amazonaws.com.cn",
		},
		{
			name: "AWS_ENDPOINT_URL_STS wins over AWS_ENDPOINT_URL",
			env: map[string]string{
				"AWS_ENDPOINT_URL_STS": "http://sts.local:8080", "AWS_ENDPOINT_URL": "http://all.local",
				"AWS_REGION": "us-west-2",
			},
			want: STSTarget{
				Region: "us-west-2", RegionSource: "AWS_REGION",
				Endpoint: "http://sts.local:8080", EndpointSource: "AWS_ENDPOINT_URL_STS",
			},
			wantURL: "http://sts.local:8080",
		},
		{
			name: "AWS_ENDPOINT_URL",
			env:  map[string]string{"AWS_ENDPOINT_URL": "http://all.local"},
			want: STSTarget{
				Region: "us-east-1", RegionSource: "default",
				Endpoint: "http://all.local", EndpointSource: "AWS_ENDPOINT_URL",
			},
			wantURL: "http://all.local",
		},
		{
			name: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
			env: map[string]string{
				"AWS_ENDPOINT_URL_STS": "http://sts.local", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
				"AWS_REGION": "us-west-2", "AWS_STS_REGIONAL_ENDPOINTS": "regional",
			},
			want:    STSTarget{Region: "us-west-2", RegionSource: "AWS_REGION", Regional: true},
			wantURL: "https://sts.us-west-2.amazonaws.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResolveSTSTarget(envFunc(tt.env), tt.flagRegion)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			url, err := got.URL(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if url != tt.wantURL {
				t.Errorf("URL %s, want %s", url, tt.wantURL)
			}
		})
	}
}

// TestEndpointFromEnv runs the probe with the client it builds itself (no NewSTS) and checks
// that AWS_ENDPOINT_URL_STS, which `verify --sts-endpoint` sets, sends both calls there.
func TestEndpointFromEnv(t *testing.T) {
	token := signToken(t, goodClaims())
	srv := fakeSTSServer(t, token, map[string]stsReply{
		opAssumeRoleWithWebIdentity: {"assume-role-ok.xml", http.StatusOK},
		opGetCallerIdentity:         {"caller-identity-ok.xml", http.StatusOK},
	})
	env := irsaEnv()
	env["AWS_ENDPOINT_URL_STS"] = srv.URL
	deps := fakeDeps(env, files{testTokenPath: token}, nil)
	deps.NewSTS = nil
	deps.HTTPClient = srv.Client()
	rec := &recorder{}
	sum, err := Run(context.Background(), testConfig(), deps, rec)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != check.StatusPass {
		t.Fatalf("summary %+v: %v", sum, rec.events)
	}
	info := rec.find(t, check.TypeInfo, CheckSTSEndpoint)
	if info.Data["endpoint"] != srv.URL || info.Data["endpoint_source"] != "AWS_ENDPOINT_URL_STS" {
		t.Errorf("sts.endpoint data %v", info.Data)
	}
	ev := rec.find(t, check.TypeCheck, CheckSTSAssumeRole)
	if ev.Data["assumed_role_arn"] != "arn:aws:sts::111122223333:assumed-role/checkout-role/kubectl-wi-probe" {
		t.Errorf("assume_role data %v", ev.Data)
	}
}

// The caller's session against the expected role, and a node's instance-profile session.
func TestSameRoleAndNodeRole(t *testing.T) {
	a, ok := identity.ParseAssumedRoleARN("arn:aws:sts::111122223333:assumed-role/app/kubectl-wi-probe")
	if !ok || !sameRole(a, "arn:aws:iam::111122223333:role/path/app") || sameRole(a, "arn:aws:iam::999922223333:role/app") || looksLikeNodeRole(a) {
		t.Errorf("assumed role %+v", a)
	}
	n, _ := identity.ParseAssumedRoleARN("arn:aws:sts::111122223333:assumed-role/nodes/i-0123456789abcdef0")
	if !looksLikeNodeRole(n) {
		t.Errorf("node role not recognised: %+v", n)
	}
}
