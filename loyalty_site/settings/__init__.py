"""Settings are read from environment variables; see the README's configuration table."""

from .base import *  # noqa: F401,F403
