from django.db import migrations, models


class Migration(migrations.Migration):
    """Stored citation keys: unique across the collection, given lazily (papers.bibtex)."""

    dependencies = [("papers", "0003_provenance")]

    operations = [
        migrations.AddField(
            model_name="paper",
            name="citation_key",
            field=models.CharField(blank=True, editable=False, max_length=100, null=True, unique=True),
        ),
    ]
