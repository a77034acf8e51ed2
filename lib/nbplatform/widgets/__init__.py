"""The sidebar's panels as widgets in a notebook: models, features, drift and jobs.

Each function returns an ``ipywidgets.VBox`` showing the same data as the
matching panel of the JupyterLab sidebar (from the platform's REST API, with
your token), with a Refresh button; what fails shows as a message in the
widget. ipywidgets is imported when this module is, never by ``import
nbplatform``; it comes with ``pip install 'nbplatform[kernel]'``.

Example:
    >>> picker = nbp.widgets.models("churn")
    >>> picker                           # choose a version
    >>> nbp.registry.load_model(picker.model_uri)
    >>> nbp.widgets.features()
    >>> nbp.widgets.drift()
    >>> nbp.widgets.jobs()               # Mine / All
"""

from __future__ import annotations

from ._base import Panel
from ._drift import DriftMonitors, drift
from ._features import FeatureViews, features
from ._jobs import Jobs, jobs
from ._models import ModelPicker, models

__all__ = [
    "DriftMonitors",
    "FeatureViews",
    "Jobs",
    "ModelPicker",
    "Panel",
    "drift",
    "features",
    "jobs",
    "models",
]
