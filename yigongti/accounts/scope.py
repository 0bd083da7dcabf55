"""Temporary alias: moved to yigongti.core.scope."""
from yigongti.core.scope import *  # noqa: F403
from yigongti.core.scope import covers, get_visible, scope_path, visible  # noqa: F401
