module example.com/ai-platform-example

go 1.19

require (
	example.com/ai-platform/sdk v0.0.0
	github.com/pulumi/pulumi/sdk/v3 v3.200.0
)

// the SDK `pulumi package add` generates for Go (its folder and module path come from that command)
replace example.com/ai-platform/sdk => ./sdks/ai-platform
