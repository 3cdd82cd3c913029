"""The hub: JupyterHub in front of the meeting, the managers' explorers and the analysts' notebooks.

`calib hub CONFIG --users USERS.yml` starts JupyterHub and its proxy. People sign in with the
machine's accounts (PAM) or the company's OpenID Connect provider; their role decides what they
land on, and the operating system decides what they can read:

- `users`: USERS.yml (who, as what, through which sign-in) and the identity of a signed-in person (pure);
- `guards`: the checks `calib hub` makes before it starts (file modes, accounts, managers, folders);
- `workspace`: the privileged side, which alone reads the whole org: it writes each person's
  folder (a manager's cut, an analyst's copy, a facilitator's meeting) before their server starts;
- `auth`: the two authenticators (PAM, OpenID Connect) with the role check and the audit of sign-ins;
- `spawner`: the Spawner that starts each role's app, under the person's own account where it reads data;
- `singleuser`: what runs in a manager's or facilitator's server: Voila checking the hub's sign-in itself;
- `audit`: who signed in, whose server started and stopped, when (and `calib hub audit`);
- `launch`: JupyterHub's configuration and `calib hub` itself.

The top of the stack beside the CLI: nothing else imports it. Decisions (role -> app -> data
scope) are plain functions the JupyterHub subclasses call and the tests call directly.
"""
