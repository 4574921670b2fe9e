"""Real model, real FAISS, real listing: a paraphrase of a paper's topic finds it first."""

from __future__ import annotations

import pytest

from papers.models import Paper
from search.queries import semantic_search

# Paraphrases written for this test: none copies the title's wording.
PARAPHRASES = [
    ("predicting combustion instabilities in rocket motors with Bayesian neural nets",
     "Forecasting Thermoacoustic Instabilities in Liquid Propellant Rocket Engines"),
    ("searching for echo signals after black hole mergers", "Model-agnostic search for the quasinormal modes"),
    ("cosmic microwave background spectra and likelihood from the satellite's final release",
     "Planck 2018 results. V. CMB power spectra and likelihoods"),
    ("modelling time-to-event data with hazards that can rise, fall or be constant",
     "A Flexible Parametric Modelling Framework for Survival Analysis"),
    ("making nested sampling for cosmological parameter estimation faster with neural networks",
     "Deep Learning and genetic algorithms for cosmological Bayesian inference speed-up"),
    ("can a chatbot tell whether its own answers are correct", "Language Models (Mostly) Know What They Know"),
    ("constrained generation that follows a formal grammar without distorting the model's distribution",
     "Grammar-Aligned Decoding"),
    ("why do text generators invent plausible but false facts", "Calibrated Language Models Must Hallucinate"),
    ("neural networks trained to approximate posterior predictive distributions in one forward pass",
     "Transformers Can Do Bayesian Inference"),
    ("forecasting with multivariate sequences that have gaps and uneven sampling rates",
     "Multi-resolution Networks For Flexible Irregular Time Series Modeling"),
    ("finding which sentence of a lecture prompted a student's question", "Backtracing: Retrieving the Cause of the Query"),
    ("representing jobs and careers with language models for labour economics",
     "LABOR-LLM: Language-Based Occupational Representations"),
    ("replacing the scalar reward in RLHF with a reward model that outputs text",
     "Sequence to Sequence Reward Modeling"),
    ("optimal transport distance as a training objective instead of maximum likelihood for text generation",
     "EMO: Earth Mover Distance Optimization"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "title_start"), PARAPHRASES, ids=[t for _, t in PARAPHRASES])
def test_a_paraphrase_puts_the_intended_paper_first(listing_index: list[int], query: str, title_start: str) -> None:
    results = semantic_search(query=query)
    assert results.hits, "no results"
    expected = Paper.objects.get(title__startswith=title_start)
    top = results.hits[0].paper
    assert top.pk == expected.pk, f"first was {top.title!r}"
