// Command go-sdkv1 is the test bed's app built against a recent aws-sdk-go v1 (v1.47.11 and
// later support EKS Pod Identity). Its Pod must set AWS_EC2_METADATA_DISABLED=true: it must
// never reach instance metadata (package sdkapp).
package main

import (
	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp"
	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp/awsv1"
)

func main() {
	sdkapp.Main(sdkapp.App{Name: "go-sdkv1", SDKModule: awsv1.Module, Retrieve: awsv1.Retrieve})
}
