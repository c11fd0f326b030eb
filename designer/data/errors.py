"""The one exception type of designer.data: a dataset the user described cannot be loaded."""


class DataError(ValueError):
    """A dataset block, file or folder is wrong; the message names the field, file, column or line and the fix."""
