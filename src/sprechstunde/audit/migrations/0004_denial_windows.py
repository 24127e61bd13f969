"""Refused accesses counted per actor, route and minute (ADR 0042).

Adding `repeat_count` with a default changes no existing row (PostgreSQL adds the column with
a default, no UPDATE, so the append-only trigger is not involved), and 0 is left out of the
hash: existing chains verify unchanged.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_append_only_triggers'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='repeat_count',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='further refusals'),
        ),
        migrations.CreateModel(
            name='DenialWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('minute', models.DateTimeField()),
                ('actor_id', models.BigIntegerField(blank=True, null=True)),
                ('actor_label', models.CharField(max_length=200)),
                ('ip_address', models.CharField(blank=True, max_length=45)),
                ('action', models.CharField(max_length=60)),
                ('route', models.CharField(blank=True, max_length=200)),
                ('first_sequence', models.PositiveBigIntegerField()),
                ('repeat_count', models.PositiveIntegerField(default=0)),
                ('last_at', models.DateTimeField()),
                ('client_id', models.BigIntegerField(blank=True, null=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('minute', 'actor_label', 'ip_address', 'action', 'route'), name='audit_denialwindow_one_per_actor_route_minute')],
            },
        ),
    ]
