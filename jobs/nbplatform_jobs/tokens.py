"""Short-lived hub tokens of a job's owner, minted by the scheduler service.

The scheduler's role grants ``tokens!group=data-scientist`` and
``tokens!group=platform-admin``: it may create tokens only for members of the
groups that can own jobs, and each token it asks for carries only access to the
platform service plus the owner's platform scopes (the hub intersects them with
the owner's own), expiring shortly after the run's timeout.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from nbplatform.errors import UnavailableError
from nbplatform_hub import host

#: Scopes asked for a run's token; the hub keeps only those the owner holds.
RUN_TOKEN_SCOPES = [
    "access:services!service=platform",
    host.MODELS_READ,
    host.MODELS_WRITE,
    host.FEATURES_READ,
    host.FEATURES_WRITE,
    host.DRIFT_READ,
    host.DRIFT_WRITE,
    host.JOBS_READ,
    # A run acts for its owner: a drift notebook retrains, a promotion starts its review.
    host.JOBS_WRITE,
]
#: Asked for first: a platform admin's run acts as a platform admin (a data scientist
#: lacks them, so the hub refuses those and :data:`RUN_TOKEN_SCOPES` are asked for).
ADMIN_RUN_TOKEN_SCOPES = [
    *RUN_TOKEN_SCOPES,
    host.MODELS_APPROVE,
    host.FEATURES_ADMIN,
    host.DRIFT_ADMIN,
    host.JOBS_ADMIN,
    host.AUDIT_READ,
]


class MintedToken(str):
    """A token as minted: the secret itself (a ``str``) and the hub's id of it.

    Record :attr:`id` on the run (``job_runs.token_id``): the platform's audit
    log then names the job and run of every request the run's token makes.
    """

    id: str | None

    def __new__(cls, token: str, token_id: str | None = None) -> MintedToken:  # noqa: D102
        minted = super().__new__(cls, token)
        minted.id = token_id
        return minted


def mint_token(
    api_url: str, service_token: str, owner: str, expires_in: int, note: str
) -> MintedToken:
    """Create a token of ``owner`` that expires in ``expires_in`` seconds.

    Args:
        api_url: ``JUPYTERHUB_API_URL``.
        service_token: The scheduler service's own token.
        owner: The job's owner.
        expires_in: Lifetime in seconds.
        note: Shown in the owner's token list (``/hub/token``).

    Returns:
        The token, with its hub id as ``.id``.

    Raises:
        UnavailableError: The hub refused (the owner was deleted, or lost every job
            group) or is unreachable.
    """
    body: dict[str, Any] = {"note": note, "expires_in": int(expires_in)}
    for scopes in (ADMIN_RUN_TOKEN_SCOPES, RUN_TOKEN_SCOPES, None):
        if scopes is not None:
            body["scopes"] = scopes
        else:
            body.pop("scopes", None)
        request = urllib.request.Request(
            f"{api_url.rstrip('/')}/users/{quote(owner, safe='')}/tokens",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"token {service_token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                answer = json.loads(response.read())
                return MintedToken(answer["token"], answer.get("id"))
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:300]
            if e.code == 400 and scopes is not None:
                continue  # the owner lacks one of the scopes: take the default token roles
            raise UnavailableError(
                f"The hub refused a token for {owner} ({e.code}: {detail})."
            ) from None
        except OSError as e:
            raise UnavailableError(f"The hub at {api_url} is not reachable: {e}") from None
    raise UnavailableError(f"The hub refused a token for {owner}.")
