"""Benchmarks and evaluation: tools for developers and CI, not part of the product.

The production image leaves this folder out (.dockerignore) and the settings install the app
only where it is present, so nothing the product runs may import it (a test checks that).
"""
