"""yigongti — open platform for China's county health networks (县域医共体)."""

__version__ = "0.1.0"
