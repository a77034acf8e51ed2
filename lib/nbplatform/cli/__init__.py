"""The ``nbplatform`` command: ``nbplatform jobs ...`` here, other commands as plugins.

``pip install nbplatform`` alone gives ``nbplatform jobs ...`` (the REST API from
a laptop). Other packages add commands through the entry-point group
``nbplatform.commands``, one entry per command, named as the command::

    [project.entry-points."nbplatform.commands"]
    up = "nbplatform_hub.cli:up"

A plugin is imported only when its command runs or ``--help`` lists it.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import click

from .. import __version__
from .drift import drift
from .features import features
from .jobs import jobs

#: The entry-point group other packages add commands to.
COMMANDS_GROUP = "nbplatform.commands"


def _plugins() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}


class PluginGroup(click.Group):
    """A click group that also offers the commands of the ``nbplatform.commands`` entry points.

    Commands added with :meth:`add_command` win over plugins of the same name.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the built-in commands and every plugin's, sorted."""
        return sorted({*super().list_commands(ctx), *_plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the built-in command ``cmd_name``, else load the plugin of that name."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        plugin = _plugins().get(cmd_name)
        if plugin is None:
            return None
        command = plugin.load()
        if not isinstance(command, click.Command):
            raise click.ClickException(
                f"the {COMMANDS_GROUP} entry point {cmd_name} = {plugin.value} "
                "is not a click command"
            )
        return command


@click.group(cls=PluginGroup)
@click.version_option(__version__, prog_name="nbplatform")
def main() -> None:
    """nbplatform: a Jupyter-centric AI platform."""


main.add_command(jobs)
main.add_command(features)
main.add_command(drift)

__all__ = ["COMMANDS_GROUP", "PluginGroup", "main"]
