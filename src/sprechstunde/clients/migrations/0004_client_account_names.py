"""Client portal accounts were created without a name, so calls and chats showed their
e-mail address: give every linked account the name of its client record (issue 11)."""

from django.db import migrations


def fill_names(apps, schema_editor):
    Client = apps.get_model("clients", "Client")
    User = apps.get_model("accounts", "User")
    linked = Client.objects.filter(user__isnull=False).values_list(
        "user_id", "first_name", "last_name"
    )
    for user_id, first_name, last_name in linked.iterator():
        User.objects.filter(pk=user_id).update(first_name=first_name, last_name=last_name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_substitution_ended"),
        ("clients", "0003_seed_consent_texts"),
    ]

    operations = [migrations.RunPython(fill_names, migrations.RunPython.noop)]
