"""The mapping room: per-record work without I/O.

- :mod:`zaplite.mapping.templates`: ``{{trigger.Field}}`` templates, parsed, checked and rendered.
- :mod:`zaplite.mapping.compiled`: a step's params compiled once into one Python function.
- :mod:`zaplite.mapping.filters`: filter conditions evaluated against a record.
"""
