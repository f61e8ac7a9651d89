"""The ``ai-platform`` command: offline plan, policy check, ESC values. Outside the component
library on purpose, so ``import components.<target>`` pulls in no policy code."""
