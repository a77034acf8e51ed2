"""JupyterHub pieces of nbplatform.

Profiles, the profile spawner with GPU assignment and memory limits, the
authenticator set-up, roles and custom scopes, service definitions, the platform
service (a host that capabilities plug into: :mod:`nbplatform_hub.host`),
rendering of Kubernetes values and the ``nbplatform up`` / ``render-k8s`` commands.
"""

__version__ = "0.1.0"
