// Command goapp is a Go program that links the AWS SDK for Go v2's default credential chain,
// built by the tests so the scan reads the build info of a real binary.
package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	_, err := config.LoadDefaultConfig(context.Background())
	fmt.Println(err)
}
