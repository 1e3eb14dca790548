package appsdk

import "slices"

// Identity is the way a pod gets its AWS role. The values are the probe's identity paths.
type Identity string

// The identities whose SDK minimums AWS documents.
const (
	IRSA        Identity = "irsa"        // IAM roles for service accounts: web identity
	PodIdentity Identity = "podidentity" // EKS Pod Identity: container credentials from the agent
)

// Canonical SDK ids: SDK.Name, and the first argument of Minimum.
const (
	SDKGo       = "aws-sdk-go"      // Go v1: github.com/aws/aws-sdk-go
	SDKGoV2     = "aws-sdk-go-v2"   // Go v2: github.com/aws/aws-sdk-go-v2/...
	SDKBotocore = "botocore"        // Python: the core every boto3 and AWS CLI v1 uses
	SDKBoto3    = "boto3"           // Python
	SDKAWSCLI   = "awscli"          // the AWS CLI, v1 (Python package) or v2
	SDKJS       = "aws-sdk-js"      // JavaScript v2: the npm package aws-sdk
	SDKJSV3     = "aws-sdk-js-v3"   // JavaScript v3: the @aws-sdk/* packages
	SDKJava     = "aws-java-sdk"    // Java 1.x: com.amazonaws
	SDKJavaV2   = "aws-java-sdk-v2" // Java 2.x: software.amazon.awssdk
	SDKNet      = "aws-sdk-net"     // .NET: the AWSSDK.* NuGet packages
	SDKRuby     = "aws-sdk-ruby"    // Ruby: the aws-sdk-* gems
	SDKPHP      = "aws-sdk-php"     // PHP: the composer package aws/aws-sdk-php
	// The scan does not look for these two; their Pod Identity minimums are here for the app
	// log signatures (pkg/applog) of their old versions.
	SDKKotlin = "aws-sdk-kotlin" // Kotlin: the aws.sdk.kotlin artifacts
	SDKRust   = "aws-sdk-rust"   // Rust: the aws-config crate and the aws-sdk-* crates
)

// The packages (Go modules, npm, Maven group:artifact, NuGet, gem and composer names) whose
// version the scan reads and the judge compares: each carries its SDK's credential chain, or
// shares its release's version with the package that does.
const (
	ModuleGo         = "github.com/aws/aws-sdk-go"
	ModuleGoV2       = "github.com/aws/aws-sdk-go-v2"
	ModuleGoV2Config = ModuleGoV2 + "/config"      // the default credential chain
	ModuleGoV2Creds  = ModuleGoV2 + "/credentials" // the container credentials provider
	ModuleBotocore   = "botocore"
	ModuleBoto3      = "boto3"
	ModuleAWSCLI     = "awscli"
	ModuleJS         = "aws-sdk"
	ModuleJSV3Chain  = "@aws-sdk/credential-provider-node" // the default credential chain
	ModuleJava       = "com.amazonaws:aws-java-sdk-core"
	ModuleJavaV2     = "software.amazon.awssdk:auth" // the credential providers
	ModuleNet        = "AWSSDK.Core"
	ModuleRuby       = "aws-sdk-core"
	ModulePHP        = "aws/aws-sdk-php"
	ModuleKotlin     = "aws.sdk.kotlin:aws-config" // the default credential chain
	ModuleRust       = "aws-config"                // the default credential chain
)

// Where AWS documents the minimums, in the EKS user guide.
const (
	DocIRSA        = "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts-minimum-sdk.html" // "Use IRSA with the AWS SDK"
	DocPodIdentity = "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html"                         // "Use pod identity with the AWS SDK"
)

// Requirement is what an SDK needs for an identity.
type Requirement struct {
	SDK      string
	Identity Identity
	// Documented is the minimum as AWS's page writes it ("release-2023-11-14", "v3.458.0",
	// "1.34.41"); empty when the page says every version works or that none does.
	Documented string
	// Minimums are the versions the judge compares with, by package: one for most SDKs, one
	// per major line for the AWS CLI (1.x and 2.x), one per module for Go v2.
	Minimums []ModuleVersion
	// AllVersions is true when every version supports the identity.
	AllVersions bool
	// Unsupported is true when no version of this SDK supports the identity; Instead says what
	// to move to.
	Unsupported bool
	Instead     string
	// Doc is the page that documents it; Note says why Minimums differ from Documented, or
	// what else the page asks for.
	Doc, Note string
}

// ModuleVersion is one package's minimum version.
type ModuleVersion struct {
	Module, Version string
}

// minimums is the one table: every entry as the EKS user guide's two pages give it, read
// from the current pages (and the awsdocs/amazon-eks-user-guide sources of
// iam-roles-for-service-accounts-minimum-sdk.adoc and pod-id-minimum-sdk.adoc).
var minimums = []Requirement{
	// IRSA: "Use IRSA with the AWS SDK".
	{SDK: SDKGo, Identity: IRSA, Documented: "1.23.13", Minimums: one(ModuleGo, "v1.23.13")},
	{SDK: SDKGoV2, Identity: IRSA, AllVersions: true, Note: "the page: all versions support"},
	{SDK: SDKBotocore, Identity: IRSA, Documented: "1.12.200", Minimums: one(ModuleBotocore, "1.12.200")},
	{SDK: SDKBoto3, Identity: IRSA, Documented: "1.9.220", Minimums: one(ModuleBoto3, "1.9.220")},
	// The page names only the 1.x CLI; 2.x, released after IRSA, is above it.
	{SDK: SDKAWSCLI, Identity: IRSA, Documented: "1.16.232", Minimums: one(ModuleAWSCLI, "1.16.232")},
	{SDK: SDKJS, Identity: IRSA, Documented: "2.525.0", Minimums: one(ModuleJS, "2.525.0")},
	// "Node – 2.525.0 and 3.27.0": the v3 packages carry the monorepo's release number.
	{SDK: SDKJSV3, Identity: IRSA, Documented: "3.27.0", Minimums: one(ModuleJSV3Chain, "3.27.0")},
	{SDK: SDKJavaV2, Identity: IRSA, Documented: "2.10.11", Minimums: one(ModuleJavaV2, "2.10.11"),
		Note: "the page also asks for the sts module on the classpath (software.amazon.awssdk:sts)"},
	// The current page says 1.12.782; revisions up to 2024 said 1.11.704, the release that put
	// web identity before instance metadata in the default chain.
	{SDK: SDKJava, Identity: IRSA, Documented: "1.12.782", Minimums: one(ModuleJava, "1.12.782"),
		Note: "the page also asks for the sts module on the classpath (com.amazonaws:aws-java-sdk-sts)"},
	{SDK: SDKNet, Identity: IRSA, Documented: "3.3.659.1", Minimums: one(ModuleNet, "3.3.659.1"),
		Note: "the page also asks for the AWSSDK.SecurityToken package"},
	{SDK: SDKRuby, Identity: IRSA, Documented: "3.58.0", Minimums: one(ModuleRuby, "3.58.0")},
	{SDK: SDKPHP, Identity: IRSA, Documented: "3.110.7", Minimums: one(ModulePHP, "3.110.7")},

	// Pod Identity: "Use pod identity with the AWS SDK".
	{SDK: SDKGo, Identity: PodIdentity, Documented: "v1.47.11", Minimums: one(ModuleGo, "v1.47.11")},
	// release-2023-11-14 of aws-sdk-go-v2 carried config v1.25.0 and credentials v1.16.0, both
	// "Add support for dynamic auth token from file and EKS container host in absolute/relative
	// URIs in the HTTP credential provider" (the repository's CHANGELOG.md, and each module's).
	{SDK: SDKGoV2, Identity: PodIdentity, Documented: "release-2023-11-14",
		Minimums: []ModuleVersion{{ModuleGoV2Config, "v1.25.0"}, {ModuleGoV2Creds, "v1.16.0"}},
		Note:     "release-2023-11-14 shipped config v1.25.0 and credentials v1.16.0"},
	{SDK: SDKBotocore, Identity: PodIdentity, Documented: "1.34.41", Minimums: one(ModuleBotocore, "1.34.41")},
	{SDK: SDKBoto3, Identity: PodIdentity, Documented: "1.34.41", Minimums: one(ModuleBoto3, "1.34.41")},
	{SDK: SDKAWSCLI, Identity: PodIdentity, Documented: "1.30.0, 2.15.0",
		Minimums: []ModuleVersion{{ModuleAWSCLI, "1.30.0"}, {ModuleAWSCLI, "2.15.0"}}},
	{SDK: SDKJS, Identity: PodIdentity, Documented: "2.1550.0", Minimums: one(ModuleJS, "2.1550.0")},
	// The page says v3.458.0, but in 3.458.0 no credential provider changed (its packages'
	// CHANGELOGs: "Version bump only"), and the default chain rejected the agent's host
	// ("169.254.170.23 is not a valid container metadata service hostname", aws-sdk-js-v3
	// issue 5709, seen on 3.490.0) until credential-provider-node 3.503.1: "add fromHttp
	// credential provider to default chain".
	{SDK: SDKJSV3, Identity: PodIdentity, Documented: "v3.458.0", Minimums: one(ModuleJSV3Chain, "3.503.1"),
		Note: "the default chain reaches the Pod Identity agent from @aws-sdk/credential-provider-node 3.503.1 (its CHANGELOG; aws-sdk-js-v3 issue 5709), not 3.458.0"},
	{SDK: SDKJavaV2, Identity: PodIdentity, Documented: "2.21.30", Minimums: one(ModuleJavaV2, "2.21.30")},
	// The current page: "A previous version of the documentation was incorrect. The AWS SDK for
	// Java v1 does not support EKS Pod Identity." (Earlier revisions listed 1.12.746.)
	{SDK: SDKJava, Identity: PodIdentity, Unsupported: true,
		Instead: "move to the AWS SDK for Java 2.x (software.amazon.awssdk) 2.21.30 or later",
		Note:    "the page says the AWS SDK for Java 1.x does not support EKS Pod Identity"},
	{SDK: SDKNet, Identity: PodIdentity, Documented: "3.7.734.0", Minimums: one(ModuleNet, "3.7.734.0")},
	{SDK: SDKRuby, Identity: PodIdentity, Documented: "3.188.0", Minimums: one(ModuleRuby, "3.188.0")},
	{SDK: SDKPHP, Identity: PodIdentity, Documented: "3.287.1", Minimums: one(ModulePHP, "3.287.1")},
	// The Kotlin SDK releases all its artifacts under one version: tag v1.0.1 is 1.0.1.
	{SDK: SDKKotlin, Identity: PodIdentity, Documented: "v1.0.1", Minimums: one(ModuleKotlin, "1.0.1")},
	// release-2024-03-13 of aws-sdk-rust carried aws-config 1.1.8 (its CHANGELOG.md, "Crate
	// Versions"; the release before had 1.1.7): "EKS Pod Identity is now supported as part of
	// the default ECS credential provider" (smithy-rs#3416).
	{SDK: SDKRust, Identity: PodIdentity, Documented: "release-2024-03-13", Minimums: one(ModuleRust, "1.1.8"),
		Note: "release-2024-03-13 shipped aws-config 1.1.8"},
	// The IRSA page lists neither Kotlin nor Rust: Minimum has no IRSA entry for them.
}

func one(module, v string) []ModuleVersion { return []ModuleVersion{{module, v}} }

// Minimum returns what sdk (one of the SDK ids) needs for id, and whether the table knows it.
func Minimum(sdk string, id Identity) (Requirement, bool) {
	for _, r := range minimums {
		if r.SDK == sdk && r.Identity == id {
			r.Doc = docFor(id)
			r.Minimums = slices.Clone(r.Minimums)
			return r, true
		}
	}
	return Requirement{}, false
}

func docFor(id Identity) string {
	switch id {
	case IRSA:
		return DocIRSA
	case PodIdentity:
		return DocPodIdentity
	}
	return ""
}
