"""REST resources of the jobs capability, mounted by the platform service.

``api/jobs`` (definitions) and ``api/runs`` (runs) are listed in the service's
``RESOURCE_MODULES``; their ``setup(context)`` migrates the jobs tables at start.
"""
