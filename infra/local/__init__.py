"""The Docker-free local runtime behind `make up` (see `runtime.LocalRuntime`)."""
