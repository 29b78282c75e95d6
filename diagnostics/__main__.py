"""`python -m diagnostics [--json] [--smoke] [--timeout S]`: exit 0 when OK, 1 on WARN, 2 on FAIL.

Needs neither gradio nor a GPU: it runs wherever the Space's requirements are installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from diagnostics.render import to_markdown
from diagnostics.report import collect_report
from diagnostics.verdicts import Status
from redaction import redact_text, secret_values

EXIT_CODES = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}


def _default_timeout() -> float:
    from settings import SettingsError, load_settings

    try:
        return load_settings().diagnostics_timeout_s
    except SettingsError as error:
        sys.exit(f"Configuration error: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diagnostics", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of Markdown")
    parser.add_argument("--smoke", action="store_true", help="run a matmul on every framework's device")
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="seconds per probe (default: DIAGNOSTICS_TIMEOUT or 60)"
    )
    args = parser.parse_args(argv)
    report = collect_report(args.timeout or _default_timeout(), smoke=args.smoke)
    text = json.dumps(report.to_dict(), indent=2) if args.json else to_markdown(report)
    print(redact_text(text, secret_values(os.environ)))
    return EXIT_CODES[report.overall]


if __name__ == "__main__":
    sys.exit(main())
