"""HTTP routes: native (/generate, /summarize), OpenAI-compatible (/v1), and operations."""
