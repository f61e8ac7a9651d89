#!/usr/bin/env python3
"""Refresh components/<target>/prices.json from the clouds' public price lists (needs network).

    .venv/bin/python scripts/refresh_prices.py [TARGET ...] [--check]

AWS and Azure lists need no credentials; Google Cloud's Catalog API needs an API key in
CLOUD_BILLING_API_KEY. How it works: ai_platform_cli/price_lists.py; the procedure: docs/cost.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ai_platform_cli.price_lists import main

if __name__ == "__main__":
    sys.exit(main())
