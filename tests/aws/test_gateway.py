"""Gateway block: ALB, listeners, access log bucket, WAF and DNS under the mock runtime."""

from __future__ import annotations

import json
import re

import pulumi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.aws.gateway import Gateway, GatewayArgs, access_log_bucket_policy, content_length_over_regex
from components.testing import plan

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ACL = "aws:wafv2/webAcl:WebAcl"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
BUCKET = "aws:s3/bucket:Bucket"
SG = "aws:ec2/securityGroup:SecurityGroup"


def build(**kwargs):
    values = {
        "vpc_id": "vpc-1",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "domain": "api.example.com",
        "certificate_arn": CERT,
        **kwargs,
    }

    def program() -> None:
        Gateway("gw", GatewayArgs(**values))

    return program


def rules_by_name(graph):
    return {r["name"]: r for r in graph.one(ACL).inputs["rules"]}


def test_alb_secure_defaults():
    graph = plan(build())
    lb = graph.one(LB).inputs
    assert lb["loadBalancerType"] == "application" and lb["internal"] is False
    assert lb["dropInvalidHeaderFields"] is True
    assert lb["enableDeletionProtection"] is False
    assert lb["idleTimeout"] == 300
    assert lb["accessLogs"] == {"bucket": graph.one(BUCKET).id, "prefix": "alb", "enabled": True}
    assert lb["subnets"] == ["subnet-a", "subnet-b"]
    assert lb["securityGroups"] == [graph.one(SG, name="gw-alb-sg").id]
    tg = graph.one("aws:lb/targetGroup:TargetGroup").inputs
    assert (tg["targetType"], tg["port"], tg["protocol"]) == ("ip", 8000, "HTTP")
    assert tg["healthCheck"]["path"] == "/ready" and tg["healthCheck"]["matcher"] == "200"


def test_deletion_protection_when_asked():
    graph = plan(build(deletion_protection=True))
    assert graph.one(LB).inputs["enableDeletionProtection"] is True
    assert graph.one(BUCKET).inputs["forceDestroy"] is False


def test_https_listener_tls12_plus_and_http_only_redirects():
    graph = plan(build())
    listeners = {r.inputs["port"]: r.inputs for r in graph.of_type(LISTENER)}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["certificateArn"] == CERT
    assert https["defaultActions"][0]["type"] == "forward"
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"].startswith("max-age=31536000")
    http = listeners[80]
    assert http["protocol"] == "HTTP"
    assert http["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ]


def test_security_group_open_on_443_and_80_only_egress_app_port_to_vpc():
    graph = plan(build(vpc_cidr_block="10.1.0.0/16"))
    ingress = sorted((r.inputs["fromPort"], r.inputs["cidrIpv4"]) for r in graph.of_type(INGRESS))
    assert ingress == [(80, "0.0.0.0/0"), (443, "0.0.0.0/0")]
    egress = graph.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").inputs
    assert (egress["fromPort"], egress["toPort"], egress["cidrIpv4"]) == (8000, 8000, "10.1.0.0/16")


def test_vpc_cidr_looked_up_when_not_given():
    graph = plan(build())
    assert "aws:ec2/getVpc:getVpc" in graph.calls
    egress = graph.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").inputs
    assert egress["cidrIpv4"] == "10.0.0.0/16"


def test_access_log_bucket_locked_down():
    graph = plan(build(access_log_retention_days=30))
    pab = graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = graph.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    versioning = graph.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    ownership = graph.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    lifecycle = graph.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs
    assert lifecycle["rules"][0]["expiration"]["days"] == 30
    policy = json.loads(graph.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["AlbAccessLogDelivery"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    bucket = graph.one(BUCKET).id
    assert sids["AlbAccessLogDelivery"]["Resource"] == f"arn:aws:s3:::{bucket}/alb/AWSLogs/123456789012/*"
    assert sids["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_log_delivery_principal_for_newer_regions():
    graph = plan(build(), config={"aws:region": "ap-southeast-5"})
    policy = json.loads(graph.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    delivery = policy["Statement"][0]
    assert delivery["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    gov = json.loads(access_log_bucket_policy("arn:aws-us-gov:s3:::b", "us-gov-west-1", "123456789012"))
    assert gov["Statement"][0]["Principal"] == {"AWS": "arn:aws-us-gov:iam::048591011584:root"}


def test_waf_rules_block_mode():
    graph = plan(build(rate_limit_per_ip=500))
    acl = graph.one(ACL).inputs
    assert acl["scope"] == "REGIONAL" and acl["defaultAction"] == {"allow": {}}
    rules = rules_by_name(graph)
    assert set(rules) == {
        "RateLimitPerIp",
        "BodySizeLimit",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesCommonRuleSet",
    }
    rate = rules["RateLimitPerIp"]
    assert rate["statement"]["rateBasedStatement"] == {
        "limit": 500,
        "aggregateKeyType": "IP",
        "evaluationWindowSec": 300,
    }
    assert rate["action"]["block"]["customResponse"]["responseCode"] == 429
    for group in ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet"):
        assert rules[group]["overrideAction"] == {"none": {}}
        assert rules[group]["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
    # the 1 MiB default is beyond WAF's 8 KB body window: the managed 8 KB body cap only counts
    common = rules["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]
    assert common["ruleActionOverrides"] == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    body = rules["BodySizeLimit"]
    assert body["action"]["block"]["customResponse"]["responseCode"] == 413
    regex = body["statement"]["regexMatchStatement"]
    assert regex["fieldToMatch"] == {"singleHeader": {"name": "content-length"}}
    assert regex["regexString"] == content_length_over_regex(1024 * 1024)
    assert len({r["priority"] for r in rules.values()}) == len(rules)
    association = graph.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs
    assert association["resourceArn"].startswith("arn:aws:elasticloadbalancing:") and association[
        "webAclArn"
    ].startswith("arn:aws:wafv2:")


def test_extra_managed_rule_group_and_stricter_tls_policy():
    graph = plan(
        build(
            extra_managed_rule_groups=["AWSManagedRulesSQLiRuleSet"], ssl_policy="ELBSecurityPolicy-TLS13-1-3-2021-06"
        )
    )
    sqli = rules_by_name(graph)["AWSManagedRulesSQLiRuleSet"]
    assert sqli["statement"]["managedRuleGroupStatement"]["name"] == "AWSManagedRulesSQLiRuleSet"
    assert sqli["overrideAction"] == {"none": {}}
    https = next(r.inputs for r in graph.of_type(LISTENER) if r.inputs["port"] == 443)
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"


def test_waf_can_be_switched_off_explicitly():
    def program() -> None:
        gateway = Gateway(
            "gw",
            GatewayArgs(
                vpc_id="vpc-1", subnet_ids=["a", "b"], domain="api.example.com", certificate_arn=CERT, waf_enabled=False
            ),
        )
        pulumi.export("web_acl_arn", gateway.web_acl_arn)

    graph = plan(program)
    assert graph.of_type(ACL) == [] and graph.of_type("aws:wafv2/webAclAssociation:WebAclAssociation") == []
    assert graph.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration") == []
    assert graph.outputs == {"web_acl_arn": None}
    assert len(graph.of_type(LISTENER)) == 2


def test_waf_logs_every_request_without_credentials_to_an_encrypted_group():
    kms = "arn:aws:kms:us-east-1:123456789012:key/abc"
    graph = plan(build(log_kms_key_arn=kms, access_log_retention_days=365))
    group = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "aws-waf-logs-ai-platform-test-gw"  # the prefix WAF requires
    assert (group.inputs["retentionInDays"], group.inputs["kmsKeyId"]) == (365, kms)
    logging = graph.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert logging.inputs["resourceArn"] == graph.one(ACL).outputs["arn"]
    assert logging.inputs["logDestinationConfigs"] == [group.outputs["arn"]]
    assert [f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]] == [
        "authorization",
        "x-api-key",
        "cookie",
    ]


def test_waf_count_mode_and_small_body_limit():
    graph = plan(build(waf_mode="count", max_body_size_bytes=4096))
    rules = rules_by_name(graph)
    assert rules["RateLimitPerIp"]["action"] == {"count": {}}
    assert rules["AWSManagedRulesCommonRuleSet"]["overrideAction"] == {"count": {}}
    assert "ruleActionOverrides" not in rules["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]
    statements = rules["BodySizeLimit"]["statement"]["orStatement"]["statements"]
    size = statements[1]["sizeConstraintStatement"]
    assert (size["comparisonOperator"], size["size"]) == ("GT", 4096)
    assert size["fieldToMatch"]["body"]["oversizeHandling"] == "MATCH"


def test_ip_allowlist_in_waf_and_security_group():
    graph = plan(build(ip_allowlist=["203.0.113.0/24", "2001:db8::/32"]))
    sets = {s.inputs["ipAddressVersion"]: s.inputs["addresses"] for s in graph.of_type("aws:wafv2/ipSet:IpSet")}
    assert sets == {"IPV4": ["203.0.113.0/24"], "IPV6": ["2001:db8::/32"]}
    rule = rules_by_name(graph)["BlockOutsideAllowlist"]
    assert rule["priority"] == 0
    inner = rule["statement"]["notStatement"]["statement"]["orStatement"]["statements"]
    assert len(inner) == 2 and all("ipSetReferenceStatement" in s for s in inner)
    sources = sorted(r.inputs.get("cidrIpv4") or r.inputs["cidrIpv6"] for r in graph.of_type(INGRESS))
    assert sources == ["2001:db8::/32", "2001:db8::/32", "203.0.113.0/24", "203.0.113.0/24"]


def test_dns_validated_certificate_and_alias():
    graph = plan(build(certificate_arn=None, hosted_zone_id="Z123", ip_address_type="dualstack"))
    cert = graph.one("aws:acm/certificate:Certificate").inputs
    assert cert["domainName"] == "api.example.com" and cert["validationMethod"] == "DNS"
    records = {r.name: r.inputs for r in graph.of_type("aws:route53/record:Record")}
    validation = records["gw-cert-validation"]
    [option] = graph.one("aws:acm/certificate:Certificate").outputs["domainValidationOptions"]
    assert option["domainName"] == "api.example.com"
    assert (validation["type"], validation["name"], validation["records"]) == (
        "CNAME",
        option["resourceRecordName"],
        [option["resourceRecordValue"]],
    )
    assert {records["gw-alias-a"]["type"], records["gw-alias-aaaa"]["type"]} == {"A", "AAAA"}
    alias = records["gw-alias-a"]["aliases"][0]
    assert alias["zoneId"] == "Z35SXDOTRQ7X7K" and alias["name"].endswith(".elb.amazonaws.com")
    https = next(r.inputs for r in graph.of_type(LISTENER) if r.inputs["port"] == 443)
    assert https["certificateArn"] == graph.one("aws:acm/certificate:Certificate").outputs["arn"]
    assert https["certificateArn"].startswith("arn:aws:acm:us-east-1:123456789012:certificate/")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"certificate_arn": None}, "give certificate_arn"),
        ({"certificate_arn": "not-an-arn"}, "is not an ACM certificate ARN"),
        ({"domain": "API.example.com"}, "must be a lower-case DNS name"),
        ({"rate_limit_per_ip": 9}, "accept 10 to 2000000000"),
        ({"max_body_size_bytes": 0}, "max_body_size_bytes=0"),
        ({"ip_allowlist": ["10.0.0.1/8"]}, "not a CIDR with zero host bits"),
        ({"ip_allowlist": ["0.0.0.0/0"]}, "allows everyone"),
        ({"ip_allowlist": [f"10.0.{i}.0/24" for i in range(26)]}, "at most 25"),
        ({"waf_mode": "off"}, "allowed values are 'block' and 'count'"),
        ({"ssl_policy": "ELBSecurityPolicy-2016-08"}, "TLS 1.2\\+ policy"),
        ({"ssl_policy": "ELBSecurityPolicy-TLS13-1-1-2021-06"}, "TLS 1.2\\+ policy"),
        ({"ssl_policy": "ELBSecurityPolicy-TLS13-1-0-2021-06"}, "TLS 1.2\\+ policy"),
        ({"subnet_ids": ["subnet-a"]}, "at least two AZs"),
        ({"extra_managed_rule_groups": ["AWSManagedRulesCommonRuleSet"]}, "not one of the defaults"),
        ({"extra_managed_rule_groups": ["MyRules"]}, "is not an additional AWS managed rule group"),
        ({"health_check_path": "ready"}, "must start with '/'"),
        ({"idle_timeout_seconds": 0}, "ALB accepts 1-4000"),
        ({"access_log_retention_days": 45}, "also the WAF log's CloudWatch retention"),
        ({"waf_redacted_headers": ["Authorization"]}, "WAF matches lowercase header names"),
    ],
)
def test_validation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan(build(**kwargs))


@given(limit=st.integers(min_value=0, max_value=10**10), value=st.integers(min_value=0, max_value=10**11))
def test_content_length_regex_is_exactly_greater_than(limit, value):
    pattern = re.compile(content_length_over_regex(limit))
    assert bool(pattern.fullmatch(str(value))) == (value > limit)
    assert bool(pattern.fullmatch("00" + str(value))) == (value > limit)
    assert len(pattern.pattern) <= 512  # WAF regex_string limit
    assert pattern.groups == 0  # AWS WAF rejects capturing groups


def test_every_child_key_is_documented(child_keys):
    plan(
        build(
            certificate_arn=None,
            hosted_zone_id="Z1",
            ip_address_type="dualstack",
            ip_allowlist=["10.0.0.0/8", "fd00::/8"],
        )
    )
    assert {"webAcl", "certificateValidation", "aliasAaaa", "allowlistIpv6", "ingressHttps1"} <= set(child_keys.used)
    assert child_keys.undocumented(GatewayArgs) == []
