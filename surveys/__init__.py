"""Integrity surveys: definitions, waves, anonymous access codes, responses, estimators."""
