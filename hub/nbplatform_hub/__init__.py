"""JupyterHub pieces of nbplatform.

Profiles, the profile spawner with GPU assignment and memory limits, the
authenticator set-up, roles and custom scopes, service definitions, the platform
service, rendering of Kubernetes values and the ``nbplatform`` CLI.
"""

__version__ = "0.1.0"
