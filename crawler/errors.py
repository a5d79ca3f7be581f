"""Errors that mean "the user gave bad input": the CLI prints them as one line, no traceback."""


class UserError(Exception):
    """Bad input or an unusable environment, explained in the message."""


class ConfigError(UserError):
    """A configuration file or value is wrong; the message names file, item and reason."""
