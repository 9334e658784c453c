"""dextog_gym: does a grasp let a Shadow Hand actually do the task?

Importing this package stays light: no torch, no sentence encoders, no Ray. Heavy
dependencies are imported lazily inside the functions that need them.
"""

__version__ = "0.1.0"

from dextog_gym.envs.table import ENV_IDS, make, register_envs  # noqa: E402
from dextog_gym.paths import assets_root  # noqa: E402

register_envs()  # gym.make("DexTOG/Stapler-v1") works after `import dextog_gym`

__all__ = ["ENV_IDS", "__version__", "assets_root", "make"]
