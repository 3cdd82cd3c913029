"""The adverse-impact audit's outcomes: how each is said, and which one a group is harmed by getting.

Kept apart from calib.analyses.bias (statsmodels, scipy) so the dashboard's charts and audit
table can read them without importing the statistics.
"""

OUTCOME_PHRASES = {  # outcome -> (what a group does, what it never does), said plainly
    "top_rating": ("get a top rating", "never get a top rating"),
    "bottom_rating": ("get the bottom rating", "never get the bottom rating"),
    "promotion_recommended": ("are recommended for promotion", "are never recommended for promotion"),
}
ADVERSE_WHEN_SELECTED = frozenset({"bottom_rating"})  # being selected is the harm (below 1 is adverse reversed)
