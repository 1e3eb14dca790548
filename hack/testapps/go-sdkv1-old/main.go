// Command go-sdkv1-old is the test bed's app built against aws-sdk-go v1.46.7, a release
// before v1.47.11 added EKS Pod Identity (its agent's address and token file): under Pod
// Identity its chain refuses the agent and it logs that refusal. Its Pod must set
// AWS_EC2_METADATA_DISABLED=true: it must never reach instance metadata (package sdkapp).
package main

import (
	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp"
	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp/awsv1"
)

func main() {
	sdkapp.Main(sdkapp.App{Name: "go-sdkv1-old", SDKModule: awsv1.Module, Retrieve: awsv1.Retrieve})
}
