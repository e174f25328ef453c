"""workbench: a research and operations workbench for market integration.

The package supplies the components (feed, broker, engine, analytics, monitor, optimize,
certify); notebooks, Panel apps and the ``workbench`` command drive them.
See ``docs/architecture.md`` for the architecture.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("workbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
