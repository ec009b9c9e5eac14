"""The demo account: ada@example.com / lovelace."""

from django.contrib.auth.hashers import make_password
from django.db import migrations


def create_demo_user(apps, schema_editor):
    User = apps.get_model("auth", "User")
    User.objects.get_or_create(
        username="ada@example.com",
        defaults={
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "password": make_password("lovelace"),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_demo_user, migrations.RunPython.noop)]
