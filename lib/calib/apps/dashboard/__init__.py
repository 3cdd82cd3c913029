"""The calibration dashboard: one pure view per tab (`views`) and the widgets that show them (`widgets`).

`views` is the registry: the tabs, the view behind each and the names the widgets use. Each tab has
its own module (`overview`, `managers`, `disciplines`, `team_context`, `person`, `audit`), built on
`sources` (loading the analysis folder), `filters` and `options` (what is in view), `html` (escaping
and the projector's stylesheet), `layout` (projector charts) and `summaries` (what several tabs
compute alike). Tab modules never import each other or `views`.
"""
