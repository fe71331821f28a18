"""``make bench-csv``: the CSV import's time and peak memory on one large template file, beside a baseline.

A file of ``--mib`` MiB of distinct template rows (each its own order, line and refund) is written once; in
fresh processes, on the same file:

- ACORN: ``csv_import.fetch`` then ``to_raw`` (the file kept as received in the payload log, decoded as it is
  read, rows packed into Arrow text a block at a time, every row checked for repeats), as an extract task does;
- the baseline: ``pandas.read_csv(dtype=str)`` of the same file, what a data team writes first (no encoding
  detection, no row-level report, no payload kept).

Printed with the growth of the peak RSS over the process's start and its ratio to the file's size; written to
``bench/results/csv-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 12, 8, tzinfo=UTC)
RESULTS = Path(__file__).parent / "results"


def write_file(folder: Path, mib: int) -> Path:
    """Distinct template rows up to ``mib`` MiB, modified inside the benchmark's interval."""
    from acorn.settings import INCLUDE

    template = (INCLUDE / "data" / "csv_template" / "refunds_template.csv").read_text().splitlines()
    header = template[0].split(",")
    ids = [header.index(c) for c in ("order_id", "line_id", "refund_id")]
    path = folder / "refunds.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(template[0] + "\n")
        size, i = 0, 0
        while size < mib * 2**20:
            row = template[1 + i % 3].split(",")
            for at in ids:
                row[at] += f"-{i}"
            line = ",".join(row) + "\n"
            out.write(line)
            size, i = size + len(line), i + 1
    stamp = (START + timedelta(minutes=5)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _acorn(folder: str) -> dict:
    from acorn.channels.accounts import parse_accounts
    from acorn.channels.csv import files as csv_import

    account = parse_accounts(
        {"accounts": [{"id": "bench", "channel": "csv", "source": "live", "marketplaces": ["bench.example"],
                       "currency": "EUR", "folder": folder, "max_bytes": 2**40, "max_interval_bytes": 2**40}]},
        "bench",
    )[0]  # fmt: skip
    options = csv_import.CsvOptions.from_account(account)
    start_mib, started = _peak_mib(), time.perf_counter()
    raw = csv_import.to_raw(account, csv_import.fetch(options, START, START + timedelta(hours=1)), options)
    return {"seconds": time.perf_counter() - started, "grew_mib": _peak_mib() - start_mib,
            "rows": len(raw.refunds), "rejected": len(raw.rejects)}  # fmt: skip


def _baseline(folder: str) -> dict:
    import pandas as pd

    start_mib, started = _peak_mib(), time.perf_counter()
    frame = pd.read_csv(Path(folder) / "refunds.csv", dtype=str, keep_default_na=False)
    return {"seconds": time.perf_counter() - started, "grew_mib": _peak_mib() - start_mib,
            "rows": len(frame), "rejected": 0}  # fmt: skip


def _in_own_process(fn, *args) -> dict:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100, help="size of the file (MiB)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="acorn-bench-csv-") as tmp:
        size_mib = write_file(Path(tmp), args.mib).stat().st_size / 2**20
        result = {"file_mib": round(size_mib, 1)}
        for name, fn in (("acorn", _acorn), ("read_csv", _baseline)):
            result[name] = _in_own_process(fn, tmp)
    print(f"CSV import of one {result['file_mib']} MiB file ({result['acorn']['rows']:,} rows)")
    print(f"{'':10} {'seconds':>8} {'peak RSS growth':>16} {'x file size':>12}")
    for name in ("acorn", "read_csv"):
        r = result[name]
        print(f"{name:10} {r['seconds']:8.1f} {r['grew_mib']:13.0f} MiB {r['grew_mib'] / size_mib:12.1f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"csv-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({**result, "cores": os.cpu_count()}, indent=2) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
