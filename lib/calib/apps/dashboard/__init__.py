"""The calibration dashboard: one pure view per tab (`views`) and the widgets that show them (`widgets`).

`views` is the registry: the tabs, the view behind each and the names the widgets use. Each tab has
its own module (`overview`, `managers`, `disciplines`, `team_context`, `person`, `audit`), built on
`sources` (loading the analysis folder), `filters` and `options` (what is in view), `html` (escaping
and the projector's stylesheet), `layout` (projector charts) and `summaries` (what several tabs
compute alike). Tab modules never import each other or `views`.
"""

import sys

# jsonschema imports rfc3987-syntax for its optional IRI format check, which builds a parser at
# import time (about 2 s of every kernel's start); altair never checks IRIs, so skip it. Set here,
# in the package every dashboard module is imported through, so it runs before any of them loads altair.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
