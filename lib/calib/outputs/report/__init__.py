"""The cycle report: one self-contained HTML page, findings.json, tables/ and per-manager packets."""
