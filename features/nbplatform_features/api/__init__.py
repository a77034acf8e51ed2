"""The feature store's REST resources (one module each) and the feature server's gateway."""
