"""dextog_gym: does a grasp let a Shadow Hand actually do the task?

Importing this package stays light: no torch, no sentence encoders, no Ray. Heavy
dependencies are imported lazily inside the functions that need them.
"""

__version__ = "0.1.0"

from dextog_gym.paths import assets_root  # noqa: E402

__all__ = ["__version__", "assets_root"]
