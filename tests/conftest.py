"""The tests folder's own conftest.

Its presence puts tests/ on sys.path, so test modules import the shared
support modules (`postgres_support`) by name. The settings every test shares
are in the repository's root conftest.py.
"""
