"""The platform service: a hub-managed tornado app at ``/services/platform/``.

It answers only to hub tokens (``Authorization: token …`` or ``Bearer …``) and
to the hub login cookie after OAuth, and checks the caller's platform scopes on
every action. Capabilities (models, jobs, and next features and drift) plug
their resources and migrations in through the ``nbplatform.capabilities``
entry-point group (:mod:`.capabilities`), one handler module per resource.
"""
