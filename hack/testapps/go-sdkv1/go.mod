module github.com/kubectl-wi/kubectl-wi/hack/testapps/go-sdkv1

go 1.26.0

replace github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp => ../sdkapp

require github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp v0.0.0-00010101000000-000000000000

require (
	github.com/aws/aws-sdk-go v1.55.8 // indirect
	github.com/jmespath/go-jmespath v0.4.0 // indirect
)
