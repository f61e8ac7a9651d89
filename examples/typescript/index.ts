// The AWS dev platform and one block on its own, from TypeScript, with the component package:
//   pulumi package add <repository URL or path>/provider
import * as pulumi from "@pulumi/pulumi";
import * as aiplatform from "@pulumi/ai-platform";

const config = new pulumi.Config();
const tags = { owner: "ai-platform-team", "cost-center": "cc-4711", application: "ai-api" };

// The whole platform: the same settings as stacks/Pulumi.aws-dev.yaml, checked by the same rules.
const platform = new aiplatform.AwsAiPlatform("ai-platform", {
    environment: "dev",
    tags,
    region: "eu-west-1",
    app: {
        image: { build: "app" },
        cpu: 0.5,
        memoryMib: 1024,
        minReplicas: 1,
        maxReplicas: 4,
        environment: { APP_LOG_LEVEL: "debug" },
        secrets: { OPENAI_API_KEY: "openaiApiKey" },
    },
    network: { cidr: "10.20.0.0/16", natGateways: "single" },
    gateway: { domain: "api.dev.example.com", rateLimitPerIp: 500 },
    aws: { hostedZoneId: "Z0123456789DEVEXAMPLE", cacheNodeType: "cache.t4g.micro", vectorMinCapacity: 0.5 },
    observability: { alertEmails: ["ai-platform-dev@example.com"] },
    budget: { monthlyAmount: 300 },
    secrets: {
        openaiApiKey: config.requireSecret("openaiApiKey"),
        redisAuthToken: config.requireSecret("redisAuthToken"),
    },
});

// A building block on its own: a job queue for reports, encrypted with the platform's key.
const reports = new aiplatform.AwsQueue("reports", {
    tags,
    kmsKeyArn: platform.kmsKeyArn,
    maxReceiveCount: 3,
});

export const url = platform.url;
export const reportsQueueUrl = reports.queueUrl;
