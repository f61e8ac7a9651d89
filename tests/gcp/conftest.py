"""Fixtures for the GCP block tests; the tests plan their programs with ``components.testing.plan``."""

from __future__ import annotations

from tests.aws.conftest import ChildKeys, child_keys

__all__ = ["ChildKeys", "child_keys"]

PROJECT = "ai-platform-test"
REGION = "europe-west1"
KEY = f"projects/{PROJECT}/locations/{REGION}/keyRings/r/cryptoKeys/data"
NETWORK = f"projects/{PROJECT}/global/networks/vpc"
SUBNET = f"projects/{PROJECT}/regions/{REGION}/subnetworks/subnet"
EMAIL = f"ai-api@{PROJECT}.iam.gserviceaccount.com"
MEMBER = f"serviceAccount:{EMAIL}"
DIGEST = f"{REGION}-docker.pkg.dev/{PROJECT}/ai/api@sha256:" + "0" * 64
