"""An existing install keeps its curators' earlier edits safe: migration papers.0003 reads the admin
history and marks the fields a curator changed as curated, so the first import after upgrading
does not undo them."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("papers", "0002_curation"),
    ("admin", "0003_logentry_add_action_flag_choices"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]
AFTER = [*BEFORE[1:], ("papers", "0003_provenance")]


@pytest.mark.django_db(transaction=True)
def test_fields_named_in_the_admin_history_become_curated_by_the_migration() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Paper = apps.get_model("papers", "Paper")
    User = apps.get_model("auth", "User")
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    edited = Paper.objects.create(title="Edited", abstract="Corrected by a curator.", normalized_title="edited")
    untouched = Paper.objects.create(title="Untouched", abstract="As imported.", normalized_title="untouched")
    curator = User.objects.create(username="marie")
    content_type, _ = ContentType.objects.get_or_create(app_label="papers", model="paper")
    LogEntry.objects.create(
        user=curator,
        content_type=content_type,
        object_id=str(edited.pk),
        object_repr="Edited",
        action_flag=2,
        change_message=json.dumps([{"changed": {"fields": ["Abstract", "Authors"]}}]),
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    Paper = apps.get_model("papers", "Paper")

    provenance = Paper.objects.get(pk=edited.pk).provenance
    assert set(provenance) == {"abstract", "authors"}
    assert provenance["abstract"]["origin"] == "curator" and provenance["abstract"]["by"] == "marie"
    assert Paper.objects.get(pk=untouched.pk).provenance == {}

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # leave the database as the other tests expect
