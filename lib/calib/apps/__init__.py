"""Apps: what people use live, served by Voila on 127.0.0.1.

Owns the facilitator's calibration dashboard (`dashboard`, served by `serve`), the manager's
explorer (`explorer`, served by `calib explore`), the Voila pieces both servers share (`voila`)
and their offline charts (`offline`). The top of the stack: nothing below imports it.
"""

import sys

# jsonschema imports rfc3987-syntax for its optional IRI format check, which builds a parser at
# import time (about 2 s of every kernel's start); altair never checks IRIs, so skip it. Set here,
# in the package every app module is imported through, so it runs before any of them loads altair.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
