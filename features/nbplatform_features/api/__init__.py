"""The feature store's REST resources (one module each) and Feast's online-lookup route."""
