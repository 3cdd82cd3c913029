"""Apps: what people use live, served by Voila on 127.0.0.1.

Owns the facilitator's calibration dashboard (`dashboard`), the manager's explorer (`explorer`)
and the server that runs them offline with preheated kernels (`serve`). The top of the stack:
nothing below imports it.
"""
