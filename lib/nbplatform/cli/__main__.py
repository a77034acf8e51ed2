"""``python -m nbplatform.cli``: the ``nbplatform`` command."""

from . import main

main()
