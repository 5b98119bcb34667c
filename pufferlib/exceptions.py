"""Named exceptions for user mistakes. Never `assert` on user input: asserts vanish under `python -O`."""


class PufferError(Exception):
    """Base class of every error pufferlib raises on purpose."""


class ConfigError(PufferError, ValueError):
    """One or more configuration problems. Each problem names the key, the value and a valid alternative.

    `problems` holds the individual messages so several mistakes are reported together.
    """

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f'{len(self.problems)} configuration problems:\n' + '\n'.join(
                f'  - {p}' for p in self.problems)
        super().__init__(message)


class APIUsageError(PufferError, RuntimeError):
    """An API called in a way that cannot work (step before reset, wrong action shape, ...)."""


class SnapshotError(APIUsageError):
    """Saved env state (from a checkpoint) that fails the env's own checks: malformed, tampered, or of other
    parameters. Restoring it is refused before any of it reaches the env."""


class EnvironmentSetupError(PufferError, RuntimeError):
    """An environment could not be created (missing optional dependency, unknown name, ...)."""


class TrainingInterrupted(PufferError):
    """Training stopped on Ctrl-C or SIGTERM after saving a checkpoint; `exit_code` is 130 or 143."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code
