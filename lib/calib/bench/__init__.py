"""`make bench`: time and memory of every stage on large synthetic orgs, printed beside the targets.

Never imported by runtime code (an import contract checks it).
"""
