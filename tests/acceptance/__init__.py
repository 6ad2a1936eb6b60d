"""Acceptance tests: user test modules run against an independent controller double."""
