"""`calib alignment`: build every requested document and write it as Markdown and HTML."""

from __future__ import annotations

import argparse
from pathlib import Path

from calib.inputs.leveling import check_work_queries, load_leveling, reference_links
from calib.outputs.alignment.model import build_documents, direct_reports, resolve_cycle
from calib.outputs.alignment.render import write_documents


def cli_alignment(args: argparse.Namespace) -> int:
    """`calib alignment CONFIG (--employee ID | --manager ID) [--cycle C] --out DIR`.

    Raises calib.errors exceptions (unknown person or cycle, bad leveling framework or query
    template, invalid inputs) for the CLI to render; nothing is written then.
    """
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config

    config = load_config(args.config)
    resolve_cycle(config, args.cycle)
    leveling = load_leveling(config)
    check_work_queries(config)
    reference_links(config)
    normalized = normalize(load_cycle(config))
    if args.manager:
        ids, who = direct_reports(normalized, args.manager), f"the {args.manager} team"
    else:
        ids, who = [args.employee], args.employee
    docs = build_documents(normalized, ids, cycle=args.cycle, leveling=leveling)
    out = Path(args.out)
    write_documents(docs, out)
    state = f"mid-cycle, as of {docs[0].as_of}" if docs[0].mid_cycle else "end of cycle"
    print(f"Wrote {len(docs)} alignment document(s) for {who}, {docs[0].cycle} ({state}), Markdown and HTML, in {out}")
    return 0
