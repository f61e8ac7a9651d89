"""Realistic offline answers for Google Cloud resources and data sources (project number 123456789012).

The project and region come from the resource's inputs, else from the ``gcp:project`` and
``gcp:region`` config keys, as the real provider reads them. Ids follow each API's resource
names (``projects/P/topics/T``, ``projects/P/locations/L/keyRings/R/cryptoKeys/K``), so the
program's references and the policy pack see the shapes a real ``pulumi up`` would.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi.runtime.config import get_config

from components.testing.outputs import stable_suffix

PROJECT_NUMBER = "123456789012"
DEFAULT_PROJECT = "ai-platform-test"
DEFAULT_REGION = "europe-west1"
_GLOBAL_COMPUTE = {
    "network": "networks",
    "firewall": "firewalls",
    "globalAddress": "addresses",
    "securityPolicy": "securityPolicies",
    "sSLPolicy": "sslPolicies",
    "managedSslCertificate": "sslCertificates",
    "backendService": "backendServices",
    "uRLMap": "urlMaps",
    "targetHttpsProxy": "targetHttpsProxies",
    "targetHttpProxy": "targetHttpProxies",
    "globalForwardingRule": "forwardingRules",
}
_REGIONAL_COMPUTE = {
    "subnetwork": "subnetworks",
    "router": "routers",
    "regionNetworkEndpointGroup": "networkEndpointGroups",
}


def _physical(name: str, inputs: dict[str, Any]) -> str:
    """What the provider would name it: the given name, else the Pulumi name plus a random-looking suffix."""
    given = inputs.get("name")
    if isinstance(given, str) and given:
        return given
    base = re.sub(r"[^a-z0-9-]", "-", name.lower())[:54].strip("-")
    return f"{base}-{stable_suffix(name, length=7)}"


def _place(inputs: dict[str, Any]) -> tuple[str, str]:
    project = inputs.get("project") or get_config("gcp:project") or DEFAULT_PROJECT
    region = inputs.get("region") or inputs.get("location") or get_config("gcp:region") or DEFAULT_REGION
    return str(project), str(region)


def _last(value: Any) -> str:
    return str(value).rsplit("/", 1)[-1]


def resource_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The id and computed outputs pulumi-gcp would return for a new resource."""
    project, region = _place(inputs)
    physical = _physical(name, inputs)
    module, _, kind = type_token.removeprefix("gcp:").partition("/")
    kind = kind.split(":", 1)[0]
    compute_base = f"https://www.googleapis.com/compute/v1/projects/{project}"
    out: dict[str, Any] = {"project": project, "name": physical}
    if module == "compute" and kind in _GLOBAL_COMPUTE:
        resource_id = f"projects/{project}/global/{_GLOBAL_COMPUTE[kind]}/{physical}"
        out["selfLink"] = f"{compute_base}/global/{_GLOBAL_COMPUTE[kind]}/{physical}"
        if kind == "globalAddress" and inputs.get("addressType") == "EXTERNAL":
            out["address"] = "203.0.113.10"
        elif kind == "globalAddress":
            out["address"] = inputs.get("address", "10.0.128.0")
    elif module == "compute" and kind in _REGIONAL_COMPUTE:
        resource_id = f"projects/{project}/regions/{region}/{_REGIONAL_COMPUTE[kind]}/{physical}"
        out["selfLink"] = f"{compute_base}/regions/{region}/{_REGIONAL_COMPUTE[kind]}/{physical}"
    elif type_token == "gcp:compute/routerNat:RouterNat":
        resource_id = f"{project}/{region}/{_last(inputs.get('router'))}/{physical}"
    elif type_token == "gcp:kms/keyRing:KeyRing":
        resource_id = f"projects/{project}/locations/{region}/keyRings/{physical}"
    elif type_token == "gcp:kms/cryptoKey:CryptoKey":
        resource_id = f"{inputs.get('keyRing')}/cryptoKeys/{physical}"
    elif type_token == "gcp:serviceaccount/account:Account":
        email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
        resource_id = f"projects/{project}/serviceAccounts/{email}"
        out |= {"email": email, "member": f"serviceAccount:{email}", "uniqueId": PROJECT_NUMBER + "0001"}
    elif type_token == "gcp:projects/serviceIdentity:ServiceIdentity":
        service = str(inputs["service"]).split(".", 1)[0]
        agent = {"sqladmin": "gcp-sa-cloud-sql", "redis": "cloud-redis"}.get(service, f"gcp-sa-{service}")
        email = f"service-{PROJECT_NUMBER}@{agent}.iam.gserviceaccount.com"
        resource_id = f"projects/{project}/services/{inputs['service']}"
        out |= {"email": email, "member": f"serviceAccount:{email}"}
    elif type_token == "gcp:redis/instance:Instance":
        resource_id = f"projects/{project}/locations/{region}/instances/{physical}"
        ca = f"-----BEGIN CERTIFICATE-----\nMIIB{stable_suffix('ca', name, length=40)}\n-----END CERTIFICATE-----\n"
        out |= {
            "host": "10.0.128.4",
            "port": 6378,
            "authString": stable_suffix("auth", name, length=32),
            "serverCaCerts": [{"cert": ca, "serialNumber": "0", "sha1Fingerprint": stable_suffix("fp", name)}],
        }
    elif type_token == "gcp:sql/databaseInstance:DatabaseInstance":
        resource_id = physical
        out |= {"connectionName": f"{project}:{region}:{physical}", "privateIpAddress": "10.0.128.8"}
    elif type_token == "gcp:pubsub/topic:Topic":
        resource_id = f"projects/{project}/topics/{physical}"
    elif type_token == "gcp:pubsub/subscription:Subscription":
        resource_id = f"projects/{project}/subscriptions/{physical}"
    elif type_token == "gcp:secretmanager/secret:Secret":
        resource_id = f"projects/{project}/secrets/{inputs['secretId']}"
        out["name"] = f"projects/{PROJECT_NUMBER}/secrets/{inputs['secretId']}"
    elif type_token == "gcp:secretmanager/secretVersion:SecretVersion":
        resource_id = f"{inputs.get('secret')}/versions/1"
        out |= {"version": "1"}
    elif type_token == "gcp:artifactregistry/repository:Repository":
        resource_id = f"projects/{project}/locations/{region}/repositories/{inputs['repositoryId']}"
        out["name"] = inputs["repositoryId"]
    elif type_token == "gcp:cloudrunv2/service:Service":
        resource_id = f"projects/{project}/locations/{region}/services/{physical}"
        out["uri"] = f"https://{physical}-{stable_suffix(name, length=10)}-ew.a.run.app"
    elif type_token == "gcp:monitoring/notificationChannel:NotificationChannel":
        resource_id = f"projects/{project}/notificationChannels/{int(stable_suffix(name, length=12), 16)}"
    else:
        resource_id = f"projects/{project}/{kind}/{physical}"
    out.setdefault("selfLink", f"https://{module}.googleapis.com/v1/{resource_id}")
    return resource_id, {**out, "id": resource_id}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    project = str(args.get("projectId") or args.get("project") or get_config("gcp:project") or DEFAULT_PROJECT)
    if token == "gcp:organizations/getProject:getProject":
        return {"projectId": project, "number": PROJECT_NUMBER, "name": project, "id": f"projects/{project}"}
    if token == "gcp:organizations/getClientConfig:getClientConfig":
        region = get_config("gcp:region") or DEFAULT_REGION
        return {
            "project": project,
            "region": region,
            "zone": f"{region}-b",
            "accessToken": "ya29.offline",
            "id": project,
        }
    raise NotImplementedError(f"no offline answer for the gcp function {token}")


def planned_app_settings(graph: Any) -> tuple[dict[str, str], list[str], int]:
    """What the planned graph hands the app (for the app-contract test that runs on every target):
    the plain environment, the names of the variables injected from Secret Manager, and the port."""
    service = graph.one("gcp:cloudrunv2/service:Service")
    (container,) = service.inputs["template"]["containers"]
    environment = {env["name"]: env["value"] for env in container["envs"] if "value" in env}
    secrets = [env["name"] for env in container["envs"] if "valueSource" in env]
    return environment, secrets, container["ports"]["containerPort"]
