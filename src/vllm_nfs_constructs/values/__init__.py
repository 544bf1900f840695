"""Value types and their rules, with no jsii: the model source, GPU sizes and pools, taints,
images, the cloud layer's outputs (the handoff), autoscaling, LoRA adapters, routing and platform
defaults. Both layers import them; ``_checks`` holds the shared input rules."""
