"""The incident domain: models, who sees what, and the lifecycle rules."""
