// Package config: stand-in for the Pulumi Go SDK's config package (see ../../../go.mod).
package config

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// RequireSecret reads a secret config value of the project's namespace.
func RequireSecret(ctx *pulumi.Context, key string) pulumi.StringOutput { return pulumi.StringOutput{} }
