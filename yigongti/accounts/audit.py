"""Temporary alias: moved to yigongti.core.audit."""
from yigongti.core.audit import *  # noqa: F403
from yigongti.core.audit import flush, read, read_missed, record  # noqa: F401
