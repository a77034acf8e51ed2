"""pytest's settings for ``notebooks/`` (collected by the top-level run with ``--nbval-lax``).

The story notebooks (``01_features.ipynb`` ... ``07_dask.ipynb``) need a platform: feature
views, a registered model, a drift monitor, each left by the one before. They are not
collected here, where no platform runs: ``tests/integration/test_story_notebooks.py`` runs
them in order on a real platform, as jobs and under nbval. Notebooks without a number
(``platform_tour.ipynb``) run here as they are.
"""

collect_ignore_glob = ["[0-9][0-9]_*.ipynb"]
