"""The one error the backup commands raise: its message tells the operator what to do."""


class BackupError(Exception):
    """A backup or restore cannot go on; nothing was changed (or the change was undone)."""
