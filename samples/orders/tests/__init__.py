"""Tests of the orders sample."""
