"""REST resources of the platform service, one module each."""
