"""Synthetic-data releases built by the range: tables as numbers, generators, utility.

Range-side code (the target kind ``synthetic`` uses it); no attack code lives here.
"""
