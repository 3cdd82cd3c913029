"""Inputs: everything between a user's files and typed, validated tables.

Owns the cycle config (`config`), reading files (`load`), the canonical input contract
(`contract`) and its pandera schemas (`schemas`), vendor adapters (`adapters`: DevLake, Four
Keys), the rating scale (`ratings`), the leveling framework (`leveling`), the metric policy
(`policy`), and `validate`, which runs all of them and reports every problem at once.
Imports nothing above it.
"""
