"""AI API gateway: the container every stack deploys (see app/README.md)."""
