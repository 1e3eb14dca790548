// Package appsdk finds the AWS SDKs an app carries, with their versions, and judges each
// against the minimum AWS documents for the pod's identity (IRSA or EKS Pod Identity).
package appsdk
