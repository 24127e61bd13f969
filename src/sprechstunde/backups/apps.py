from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """Backup and restore commands (`backup_create`, `backup_restore`, `backup_check`); no
    models and no pages, so nothing here is translated."""

    name = "sprechstunde.backups"
    label = "backups"
