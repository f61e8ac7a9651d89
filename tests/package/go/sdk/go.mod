// A minimal stand-in for github.com/pulumi/pulumi/sdk/v3 (the Go module proxy is out of reach
// here): only the names the generated typings and examples/go use, with the real SDK's shapes
// (inputs as interfaces that plain values and outputs satisfy). It type-checks; it runs nothing.
module github.com/pulumi/pulumi/sdk/v3

go 1.19
