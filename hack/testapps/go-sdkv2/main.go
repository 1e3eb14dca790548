// Command go-sdkv2 is the test bed's app built against a recent aws-sdk-go-v2 (its config
// and credentials modules). Its Pod must set AWS_EC2_METADATA_DISABLED=true: it must never
// reach instance metadata (package sdkapp).
package main

import (
	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp"
	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp/awsv2"
)

func main() {
	sdkapp.Main(sdkapp.App{Name: "go-sdkv2", SDKModule: awsv2.Module, Retrieve: awsv2.Retrieve})
}
