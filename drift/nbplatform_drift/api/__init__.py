"""The REST resources of ``api/drift``: one module per resource."""
