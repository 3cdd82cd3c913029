"""The manager's explorer: one manager's people, served by `calib explore` (notebooks/team_explorer.ipynb).

Scoped by construction: the server cuts the cycle to the manager's people (calib.scope.filter_subtree)
and writes that cut alone (`snapshot`); the kernel is given only that folder. `model` holds the
pure tables (the monthly pairing view of one person, the team view), `views` turns them into
escaped HTML in the dashboard's styles, `widgets` assembles the page and its one write action (a
person's alignment document), and `serve` is the `calib explore` command. The kernel never
imports `serve`.
"""
