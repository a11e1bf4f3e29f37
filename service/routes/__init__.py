"""HTTP routers, one per resource, and the mapping of domain errors to status codes."""
