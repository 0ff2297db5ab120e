"""CDK constructs for the pieces the topology describes."""
