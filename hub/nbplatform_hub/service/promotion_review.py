"""The review of a promotion request: a notebook the platform ships, run as the requester's job.

Asking for a promotion (``POST api/promotions``) starts
``nbplatform:review_promotion.ipynb`` (metrics against the champion, SHAP, drift
of the candidate's training frame against the current data) as a run of the
requester's job ``promotion-review``, made on first use (manual, on their first
CPU profile, ``cpu-small`` when they may use it). The models resources do not
import the jobs capability: they ask its REST API over loopback with the
requester's own token (:mod:`.loopback`), so the jobs capability decides (a
viewer without the jobs write scope is refused there) and audits the job and
the run as the requester's. The run's output is private to the requester and
platform admins, who decide the request.

Starting the review never fails the request: when it cannot start (the jobs
capability is not installed, the jobs API refused, no CPU profile), the request
is made all the same and its ``review.error`` says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from nbplatform.errors import NbplatformError, PermissionDeniedError

from .. import profiles
from . import loopback

log = logging.getLogger("nbplatform.service")

#: The requester's job that runs the reviews.
JOB_NAME = "promotion-review"
#: The notebook it runs (packaged in ``nbplatform/templates``).
NOTEBOOK = "nbplatform:review_promotion.ipynb"
#: The profile a review runs on when the requester may use it (else their first CPU one).
PREFERRED_PROFILE = "cpu-small"
#: Seconds a review may run.
TIMEOUT_SECONDS = 1800
#: Who asks the jobs API, in its audit log.
AGENT = "nbplatform-models (promotion review)"
#: The most pages of the requester's jobs looked through for the review job.
MAX_PAGES = 20


@dataclass(frozen=True)
class Review:
    """The review started for a request, or why none was.

    Attributes:
        job_id: The requester's ``promotion-review`` job (when it was found or made).
        run_id: The review's run.
        error: Why no review runs (``None`` when it does).
    """

    job_id: str | None = None
    run_id: str | None = None
    error: str | None = None

    def detail(self) -> str:
        """The audit entry's detail: the review's job and run, or why none was started."""
        if self.error is None:
            return f"review: job {self.job_id}, run {self.run_id}"
        return f"review not started: {self.error}"[:1000]


def parameters(promotion: dict[str, Any]) -> dict[str, Any]:
    """The review notebook's parameters for ``promotion``."""
    return {
        "model_name": promotion["model"],
        "version": str(promotion["version"]),
        "alias": promotion["alias"],
        "champion_version": promotion.get("base_version"),
        "promotion_id": promotion["id"],
    }


def choose_profile(user: str, groups: list[str]) -> str:
    """The profile a review of ``user`` runs on: ``cpu-small``, else their first CPU one.

    Raises:
        PermissionDeniedError: ``user`` may use no CPU profile.
    """
    allowed = profiles.profiles_for_groups(profiles.load_platform_profiles(), groups)
    cpu = [p.slug for p in allowed if not p.gpus]
    if not cpu:
        raise PermissionDeniedError(
            f"{user} may use no CPU profile (groups: {', '.join(groups) or 'none'}), "
            "so the review notebook has nowhere to run."
        )
    return PREFERRED_PROFILE if PREFERRED_PROFILE in cpu else cpu[0]


async def _jobs(
    handler: Any, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)
) -> dict[str, Any]:
    """Ask the jobs API as the caller; its refusals become errors saying so.

    Raises:
        NbplatformError: Its answer was not ``ok`` (a 404 of ``api/jobs``: not installed).
    """
    status, value, raw = await loopback.call(handler, method, path, body, agent=AGENT)
    if status in ok and isinstance(value, dict):
        return value
    if status == 404 and path.startswith("api/jobs?"):
        raise NbplatformError("the jobs capability is not installed (api/jobs answered 404).")
    raise loopback.refusal(status, raw, "The jobs API")


async def find_job(handler: Any, owner: str) -> dict[str, Any] | None:
    """``owner``'s job named :data:`JOB_NAME`, if they have one."""
    token: str | None = None
    for _ in range(MAX_PAGES):
        query = {"owner": owner, "max_results": 1000, **({"page_token": token} if token else {})}
        page = await _jobs(handler, "GET", f"api/jobs?{urlencode(query)}")
        for job in page.get("jobs") or []:
            if job.get("name") == JOB_NAME and job.get("owner") == owner:
                return job
        token = page.get("next_page_token")
        if not token:
            break
    return None


async def review_job(handler: Any, owner: str) -> dict[str, Any]:
    """``owner``'s review job, made if they have none, set back to the review notebook.

    A job of that name that runs another notebook is set back to
    :data:`NOTEBOOK`, without parameters of its own (its owner's own job,
    changed with their token): what the approver reads is the platform's review.
    """
    job = await find_job(handler, owner)
    if job is None:
        groups = (await handler.context.hub.get_user(owner)).get("groups") or []
        body = {
            "name": JOB_NAME,
            "notebook": NOTEBOOK,
            "profile": choose_profile(owner, list(groups)),
            "timeout_seconds": TIMEOUT_SECONDS,
            "tags": ["promotion-review"],
            "idempotency_token": "nbplatform-promotion-review",
        }
        try:
            return await _jobs(handler, "POST", "api/jobs", body, ok=(200, 201))
        except NbplatformError as e:  # made at the same moment by another request
            if getattr(e, "http_status", None) != 409:
                raise
            job = await find_job(handler, owner)
            if job is None:
                raise
    if job.get("notebook") != NOTEBOOK:
        job = await _jobs(
            handler,
            "PATCH",
            f"api/jobs/{quote(job['id'], safe='')}",
            {"notebook": NOTEBOOK, "parameters": {}},
        )
    return job


async def start(handler: Any, promotion: dict[str, Any]) -> Review:
    """Start the review of ``promotion`` as its requester (the caller of ``handler``).

    Returns:
        The review's job and run, or why it was not started (never raises).
    """
    job_id = None
    try:
        job = await review_job(handler, promotion["requested_by"])
        job_id = str(job["id"])
        run = await _jobs(
            handler,
            "POST",
            f"api/jobs/{quote(job_id, safe='')}/runs",
            {
                "parameters": parameters(promotion),
                "idempotency_token": f"promotion-{promotion['id']}",
            },
            ok=(200, 201),
        )
        return Review(job_id=job_id, run_id=str(run["id"]))
    except loopback.PassedOnError as e:
        return Review(
            job_id=job_id, error=f"the jobs API refused (HTTP {e.http_status}): {e.message}"
        )
    except NbplatformError as e:
        return Review(job_id=job_id, error=e.message)
    except Exception as e:  # the request matters more than its review
        log.exception("the review of promotion request %s did not start", promotion["id"])
        return Review(job_id=job_id, error=f"{type(e).__name__}: {e}"[:1000])
