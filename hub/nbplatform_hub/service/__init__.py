"""The platform service: a hub-managed tornado app at ``/services/platform/``.

It answers only to hub tokens (``Authorization: token …`` or ``Bearer …``) and
to the hub login cookie after OAuth, and checks the caller's platform scopes on
every action. Later capabilities (models, features, drift, jobs, audit) add
their resources here, one handler module each.
"""
