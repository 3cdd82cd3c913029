"""The calibration dashboard: pure views per tab (`views`) and the widgets that show them (`widgets`)."""
