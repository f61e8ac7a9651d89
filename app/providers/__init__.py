"""Upstream LLM providers, each translating to and from the OpenAI chat shape."""
