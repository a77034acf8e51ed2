"""REST resources of the jobs capability, mounted by the platform service.

``api/jobs`` (definitions) and ``api/runs`` (runs), listed by
:data:`nbplatform_jobs.capability.capability`.
"""
