"""Explanations leave out scikit-learn's English stop words, read from its file without
importing scikit-learn: the import loads ~990 modules and cost every web worker ~47 MB of private
memory at its first explanation (docs/scale.md, "Run 10")."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from django.conf import settings

from search import explain


def test_the_list_is_scikit_learns_own_list() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert explain._sklearn_english_stop_words() == ENGLISH_STOP_WORDS
    assert len(ENGLISH_STOP_WORDS) > 300 and {"from", "using"} & set(ENGLISH_STOP_WORDS) == {"from"}
    assert explain._explanation_stopwords() >= ENGLISH_STOP_WORDS


def test_a_fresh_process_explaining_a_match_never_imports_scikit_learn() -> None:
    probe = textwrap.dedent(
        """
        import sys
        import django
        django.setup()
        from search import explain
        from search.ranking import AnalysedQuery
        stop = explain._explanation_stopwords()
        terms = explain.query_terms(AnalysedQuery.of("a study of the reward models from human feedback"))
        assert "from" in stop and "reward" in terms and "from" not in terms, terms
        print("sklearn" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120, check=False,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PAPERSCOPE_IGNORE_DOTENV": "1", "PATH": "/usr/bin:/bin",
             "PYTHONPATH": str(settings.BASE_DIR)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False"]
