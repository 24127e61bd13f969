"""`make bench`: every benchmark against one throw-away server; prints figures, asserts nothing.

Copy the output into docs/benchmarks.md together with the command that produced it.
Options are passed to bench/load.py (--duration, --connections, --tool); the chat fan-out
(bench/messaging_fanout.py, its own servers) runs in the configurations of --messaging-configs.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import load, messaging_fanout, page_weight, video_first_frame, video_page_weight
from bench.server import REPO, machine_info, running_server


def git_revision() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--messaging-configs",
        default="embedded",
        help="embedded,scaled (scaled needs PostgreSQL and Redis); empty to leave it out",
    )
    parser.add_argument(
        "--video-runs", type=int, default=10, help="first-frame runs per page; 0 leaves video out"
    )
    parser.add_argument(
        "--documents-runs",
        type=int,
        default=1,
        help="runs of bench/documents_upload.py (10 camera photos to 'ready'); 0 to leave out",
    )
    args = parser.parse_args()

    started = time.monotonic()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Sprechstunde benchmarks, {now}, revision {git_revision()}")
    print(f"Machine: {machine_info()}")
    print("Server: manage.py serve (uvicorn, 1 worker), DEBUG off, SQLite, bench/settings_bench.py")
    with running_server() as server:
        print("\n## Page weight of the client pages\n", flush=True)
        print(page_weight.run(server), flush=True)
        print(
            f"\n## Load: {args.connections} connections, {args.duration:g} s per target\n",
            flush=True,
        )
        print(
            load.run(server, duration=args.duration, connections=args.connections, tool=args.tool)
        )
    if args.messaging_configs:
        print("\n## Chat fan-out (bench/messaging_fanout.py)\n", flush=True)
        print(messaging_fanout.run(["--configs", args.messaging_configs]), flush=True)
    if args.video_runs:
        print("\n## Video call page weight (bench/video_page_weight.py)\n", flush=True)
        print(video_page_weight.run(), flush=True)
        print("\n## Video: first remote frame, slow links (bench/video_first_frame.py)\n")
        print(
            video_first_frame.run(
                profiles=["loopback", "3G", "EDGE"], runs=args.video_runs, steady_seconds=15
            ),
            flush=True,
        )
    if args.documents_runs:
        print("\n## Documents: 10 phone photos to ready (bench/documents_upload.py)\n", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "documents_upload.py"),
                "--runs",
                str(args.documents_runs),
            ],
            check=False,
        )
    print(f"\n(took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
