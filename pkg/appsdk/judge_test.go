package appsdk

import (
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name        string
		sdk         SDK
		id          Identity
		want        Status
		wantMinimum string
		wantFix     string
		wantDoc     string
		wantReason  string // a substring
	}{
		{name: "go v1 below pod identity", sdk: SDK{Name: SDKGo, Module: ModuleGo, Version: "v1.47.10"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "v1.47.11", wantFix: "upgrade github.com/aws/aws-sdk-go to v1.47.11 or later", wantDoc: DocPodIdentity},
		{name: "go v1 equal pod identity", sdk: SDK{Name: SDKGo, Module: ModuleGo, Version: "v1.47.11"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "v1.47.11", wantDoc: DocPodIdentity},
		{name: "go v1 above pod identity", sdk: SDK{Name: SDKGo, Module: ModuleGo, Version: "v1.55.5"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "v1.47.11", wantDoc: DocPodIdentity},
		{name: "go v1 too old for pod identity is fine for irsa", sdk: SDK{Name: SDKGo, Module: ModuleGo, Version: "v1.44.0"}, id: IRSA,
			want: StatusOK, wantMinimum: "v1.23.13", wantDoc: DocIRSA},
		{name: "go v1 below irsa", sdk: SDK{Name: SDKGo, Module: ModuleGo, Version: "v1.23.12"}, id: IRSA,
			want: StatusTooOld, wantMinimum: "v1.23.13", wantFix: "upgrade github.com/aws/aws-sdk-go to v1.23.13 or later", wantDoc: DocIRSA},
		{name: "go v2 config below release-2023-11-14", sdk: SDK{Name: SDKGoV2, Module: ModuleGoV2Config, Version: "v1.24.0"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "v1.25.0", wantFix: "upgrade github.com/aws/aws-sdk-go-v2/config to v1.25.0 or later", wantDoc: DocPodIdentity},
		{name: "go v2 credentials equal", sdk: SDK{Name: SDKGoV2, Module: ModuleGoV2Creds, Version: "v1.16.0"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "v1.16.0", wantDoc: DocPodIdentity},
		{name: "go v2 pseudo-version after the minimum", sdk: SDK{Name: SDKGoV2, Module: ModuleGoV2Config, Version: "v1.25.1-0.20231120000000-0123456789ab"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "v1.25.0", wantDoc: DocPodIdentity},
		{name: "go v2 any version for irsa", sdk: SDK{Name: SDKGoV2, Module: ModuleGoV2Config, Version: "v1.0.0"}, id: IRSA,
			want: StatusOK, wantDoc: DocIRSA},
		{name: "go v2 module without the chain", sdk: SDK{Name: SDKGoV2, Module: ModuleGoV2, Version: "v1.30.0"}, id: PodIdentity,
			want: StatusUnknown, wantDoc: DocPodIdentity, wantReason: "does not carry the credential chain"},
		{name: "go devel version", sdk: SDK{Name: SDKGo, Module: ModuleGo, Version: "(devel)"}, id: PodIdentity,
			want: StatusUnknown, wantDoc: DocPodIdentity, wantReason: "cannot be compared"},
		{name: "botocore below", sdk: SDK{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.34.40"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "1.34.41", wantFix: "upgrade botocore to 1.34.41 or later", wantDoc: DocPodIdentity},
		{name: "botocore post-release of the minimum", sdk: SDK{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.34.41.post1"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "1.34.41", wantDoc: DocPodIdentity},
		{name: "botocore pre-release of the minimum", sdk: SDK{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.34.41rc1"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "1.34.41", wantFix: "upgrade botocore to 1.34.41 or later", wantDoc: DocPodIdentity},
		{name: "debian botocore fine for irsa", sdk: SDK{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.29.27"}, id: IRSA,
			want: StatusOK, wantMinimum: "1.12.200", wantDoc: DocIRSA},
		{name: "boto3 equal", sdk: SDK{Name: SDKBoto3, Module: ModuleBoto3, Version: "1.34.41"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "1.34.41", wantDoc: DocPodIdentity},
		{name: "cli v1 below its line", sdk: SDK{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: "1.29.85"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "1.30.0", wantFix: "upgrade awscli to 1.30.0 or later", wantDoc: DocPodIdentity},
		{name: "cli v2 below its line", sdk: SDK{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: "2.9.19"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "2.15.0", wantFix: "upgrade awscli to 2.15.0 or later", wantDoc: DocPodIdentity},
		{name: "cli v2 on its line", sdk: SDK{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: "2.15.0"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "2.15.0", wantDoc: DocPodIdentity},
		{name: "cli v2 above the only irsa line", sdk: SDK{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: "2.0.0"}, id: IRSA,
			want: StatusOK, wantMinimum: "1.16.232", wantDoc: DocIRSA},
		{name: "js v2 below", sdk: SDK{Name: SDKJS, Module: ModuleJS, Version: "2.1549.0"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "2.1550.0", wantFix: "upgrade aws-sdk to 2.1550.0 or later", wantDoc: DocPodIdentity},
		{name: "js v3 at the documented release is not enough", sdk: SDK{Name: SDKJSV3, Module: ModuleJSV3Chain, Version: "3.458.0"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "3.503.1", wantFix: "upgrade @aws-sdk/credential-provider-node to 3.503.1 or later", wantDoc: DocPodIdentity, wantReason: "3.503.1"},
		{name: "js v3 above", sdk: SDK{Name: SDKJSV3, Module: ModuleJSV3Chain, Version: "3.600.0"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "3.503.1", wantDoc: DocPodIdentity},
		{name: "java v2 below", sdk: SDK{Name: SDKJavaV2, Module: ModuleJavaV2, Version: "2.21.29"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "2.21.30", wantFix: "upgrade software.amazon.awssdk:auth to 2.21.30 or later", wantDoc: DocPodIdentity},
		{name: "java v2 equal", sdk: SDK{Name: SDKJavaV2, Module: ModuleJavaV2, Version: "2.21.30"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "2.21.30", wantDoc: DocPodIdentity},
		{name: "rust before the release with pod identity", sdk: SDK{Name: SDKRust, Module: ModuleRust, Version: "1.1.7"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "1.1.8", wantFix: "upgrade aws-config to 1.1.8 or later", wantDoc: DocPodIdentity, wantReason: "release-2024-03-13"},
		{name: "kotlin at the documented release", sdk: SDK{Name: SDKKotlin, Module: ModuleKotlin, Version: "1.0.1"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "1.0.1", wantDoc: DocPodIdentity},
		{name: "kotlin with irsa, which the page does not list", sdk: SDK{Name: SDKKotlin, Module: ModuleKotlin, Version: "1.0.1"}, id: IRSA,
			want: StatusUnknown, wantReason: "no documented minimum"},
		{name: "java v1 with pod identity", sdk: SDK{Name: SDKJava, Module: ModuleJava, Version: "1.12.797"}, id: PodIdentity,
			want: StatusUnsupported, wantFix: "move to the AWS SDK for Java 2.x (software.amazon.awssdk) 2.21.30 or later", wantDoc: DocPodIdentity, wantReason: "does not support"},
		{name: "java v1 irsa below", sdk: SDK{Name: SDKJava, Module: ModuleJava, Version: "1.12.781"}, id: IRSA,
			want: StatusTooOld, wantMinimum: "1.12.782", wantFix: "upgrade com.amazonaws:aws-java-sdk-core to 1.12.782 or later", wantDoc: DocIRSA, wantReason: "sts"},
		{name: "dotnet four numbers equal", sdk: SDK{Name: SDKNet, Module: ModuleNet, Version: "3.7.734"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "3.7.734.0", wantDoc: DocPodIdentity},
		{name: "dotnet v4 above", sdk: SDK{Name: SDKNet, Module: ModuleNet, Version: "4.0.3.3"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "3.7.734.0", wantDoc: DocPodIdentity},
		{name: "dotnet below irsa", sdk: SDK{Name: SDKNet, Module: ModuleNet, Version: "3.3.659.0"}, id: IRSA,
			want: StatusTooOld, wantMinimum: "3.3.659.1", wantFix: "upgrade AWSSDK.Core to 3.3.659.1 or later", wantDoc: DocIRSA, wantReason: "AWSSDK.SecurityToken"},
		{name: "ruby below", sdk: SDK{Name: SDKRuby, Module: ModuleRuby, Version: "3.187.9"}, id: PodIdentity,
			want: StatusTooOld, wantMinimum: "3.188.0", wantFix: "upgrade aws-sdk-core to 3.188.0 or later", wantDoc: DocPodIdentity},
		{name: "php equal", sdk: SDK{Name: SDKPHP, Module: ModulePHP, Version: "3.287.1"}, id: PodIdentity,
			want: StatusOK, wantMinimum: "3.287.1", wantDoc: DocPodIdentity},
		{name: "unknown sdk", sdk: SDK{Name: "aws-sdk-cobol", Module: "x", Version: "1.0.0"}, id: PodIdentity,
			want: StatusUnknown, wantReason: "no documented minimum"},
		{name: "unknown identity", sdk: SDK{Name: SDKGo, Module: ModuleGo, Version: "v1.50.0"}, id: Identity("kiam"),
			want: StatusUnknown, wantReason: "no documented minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(tt.sdk, tt.id)
			if got.Status != tt.want || got.Minimum != tt.wantMinimum || got.Fix != tt.wantFix || got.Doc != tt.wantDoc {
				t.Errorf("Judge() = %+v, want status %s, minimum %q, fix %q, doc %q", got, tt.want, tt.wantMinimum, tt.wantFix, tt.wantDoc)
			}
			if !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("Judge().Reason = %q, want it to contain %q", got.Reason, tt.wantReason)
			}
		})
	}
}

// TestMinimumsTable proves the table whole: every SDK the scan finds has an entry per
// identity, Kotlin and Rust (which the IRSA page does not list) one for Pod Identity only,
// every compared version parses, and each entry says how it is judged.
func TestMinimumsTable(t *testing.T) {
	both := []Identity{IRSA, PodIdentity}
	identities := map[string][]Identity{
		SDKGo: both, SDKGoV2: both, SDKBotocore: both, SDKBoto3: both, SDKAWSCLI: both, SDKJS: both, SDKJSV3: both,
		SDKJava: both, SDKJavaV2: both, SDKNet: both, SDKRuby: both, SDKPHP: both,
		SDKKotlin: {PodIdentity}, SDKRust: {PodIdentity},
	}
	entries := 0
	for sdk, ids := range identities {
		if len(ids) == 1 {
			if _, ok := Minimum(sdk, IRSA); ok {
				t.Errorf("Minimum(%s, %s) found; the page lists none", sdk, IRSA)
			}
		}
		for _, id := range ids {
			entries++
			t.Run(sdk+"/"+string(id), func(t *testing.T) {
				r, ok := Minimum(sdk, id)
				if !ok {
					t.Fatalf("Minimum(%s, %s) not found", sdk, id)
				}
				if r.Doc == "" {
					t.Error("no Doc")
				}
				kinds := 0
				for _, b := range []bool{r.AllVersions, r.Unsupported, len(r.Minimums) > 0} {
					if b {
						kinds++
					}
				}
				if kinds != 1 {
					t.Errorf("entry is %d of all versions, unsupported, minimums; want exactly one", kinds)
				}
				if r.Unsupported && r.Instead == "" {
					t.Error("unsupported without Instead")
				}
				if len(r.Minimums) > 0 && r.Documented == "" {
					t.Error("minimums without the documented value")
				}
				for _, m := range r.Minimums {
					if _, ok := parseVersion(m.Version); !ok || m.Module == "" {
						t.Errorf("minimum %+v: module empty or version unparseable", m)
					}
				}
			})
		}
	}
	if len(minimums) != entries {
		t.Errorf("table has %d entries, want %d: one per SDK and identity listed", len(minimums), entries)
	}
}
