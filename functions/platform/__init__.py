"""Platform routes that belong to no bounded context: liveness and the API contract."""
