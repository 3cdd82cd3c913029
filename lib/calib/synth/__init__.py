"""A seeded synthetic org with planted patterns, for the sample data, tests and benchmarks.

Never imported by runtime code (an import contract checks it).
"""
