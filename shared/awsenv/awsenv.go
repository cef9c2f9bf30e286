// Package awsenv builds the AWS SDK configuration of a Lambda function from
// the environment Lambda gives it, without config.LoadDefaultConfig: no
// shared config files, profiles, SSO, STS or instance metadata, which a
// function never uses and which would cost bootstrap size and cold-start
// time. Tests and local runs set the same variables (test/kit.AWSEnv).
//
// It is also the one place that knows AWS's error codes (errors.go).
package awsenv

import (
	"cmp"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Config returns the region (AWS_REGION, else AWS_DEFAULT_REGION) and the
// static credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN) of the environment. Lambda sets all of them for the
// function's execution role.
func Config(getenv func(string) string) (aws.Config, error) {
	region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")),
	}, nil
}

// Endpoint returns the endpoint override for a service, as the SDK's own
// configuration reads it: AWS_ENDPOINT_URL_<SERVICE> (service as in
// "SQS", "S3", "SECRETS_MANAGER"), else AWS_ENDPOINT_URL; "" for the
// service's public endpoint. Tests point it at local fakes.
func Endpoint(getenv func(string) string, service string) string {
	return cmp.Or(getenv("AWS_ENDPOINT_URL_"+strings.ToUpper(service)), getenv("AWS_ENDPOINT_URL"))
}

// BaseEndpoint is Endpoint as the SDK clients' Options.BaseEndpoint wants
// it: nil for the public endpoint.
func BaseEndpoint(getenv func(string) string, service string) *string {
	if v := Endpoint(getenv, service); v != "" {
		return aws.String(v)
	}
	return nil
}
