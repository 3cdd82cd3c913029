"""Outputs: what analysts and managers take away, rendered from the frame and the analyses.

Owns the cycle report and its per-manager packets (`report`), performance alignment documents
(`alignment`), talent mapping (`talent`), the charts every surface shares (`charts`) and the
command line's plain-text summary (`summary`). Templates live in `templates/`. Every surface
that can run in blind mode goes through `calib.privacy`.
"""
