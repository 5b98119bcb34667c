"""pufferlib: fast, INI-configured reinforcement learning with C-accelerated environments."""
__version__ = '0.1.0'

from pufferlib.exceptions import APIUsageError, ConfigError, EnvironmentSetupError, PufferError  # noqa: F401
from pufferlib.envs.contract import Buffers, PufferEnv, allocate_buffers  # noqa: F401
