// The AWS dev platform and one block on its own, from Go, with the component package:
//
//	pulumi package add <repository URL or path>/provider
package main

import (
	"example.com/ai-platform/sdk/go/aiplatform"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		tags := map[string]string{"owner": "ai-platform-team", "cost-center": "cc-4711", "application": "ai-api"}

		// The whole platform: the settings of stacks/Pulumi.aws-dev.yaml, checked by the same rules.
		platform, err := aiplatform.NewAwsAiPlatform(ctx, "ai-platform", &aiplatform.AwsAiPlatformArgs{
			Environment: aiplatform.EnvironmentDev,
			Tags:        tags,
			Region:      pulumi.StringRef("eu-west-1"),
			App: &aiplatform.AppSpecArgs{
				Image:       &aiplatform.ImageSpecArgs{Build: pulumi.StringRef("app")},
				Cpu:         pulumi.Float64Ref(0.5),
				MemoryMib:   pulumi.IntRef(1024),
				MaxReplicas: pulumi.IntRef(4),
				Secrets:     map[string]string{"OPENAI_API_KEY": "openaiApiKey"},
			},
			Gateway: aiplatform.GatewaySpecArgs{Domain: "api.dev.example.com", RateLimitPerIp: pulumi.IntRef(500)},
			Aws: &aiplatform.AwsSpecArgs{
				HostedZoneId:  pulumi.StringRef("Z0123456789DEVEXAMPLE"),
				CacheNodeType: pulumi.StringRef("cache.t4g.micro"),
			},
			Observability: &aiplatform.ObservabilitySpecArgs{AlertEmails: []string{"ai-platform-dev@example.com"}},
			Budget:        aiplatform.BudgetSpecArgs{MonthlyAmount: 300},
			Secrets: pulumi.StringMap{
				"openaiApiKey":   config.RequireSecret(ctx, "openaiApiKey"),
				"redisAuthToken": config.RequireSecret(ctx, "redisAuthToken"),
			},
		})
		if err != nil {
			return err
		}

		// A building block on its own: a job queue for reports, encrypted with the platform's key.
		reports, err := aiplatform.NewAwsQueue(ctx, "reports", &aiplatform.AwsQueueArgs{
			Tags:            tags,
			KmsKeyArn:       platform.KmsKeyArn,
			MaxReceiveCount: pulumi.IntRef(3),
		})
		if err != nil {
			return err
		}

		ctx.Export("url", platform.Url)
		ctx.Export("reportsQueueUrl", reports.QueueUrl)
		return nil
	})
}
