"""build.py's command line: main(argv) parses the options, runs the build, prints one line."""

import argparse
import logging
import sys
import time
import traceback
from pathlib import Path

from .errors import BuildError
from .config import parse_servers_option
from .layout import JS_DIR, ROOT, log
from .pipeline import build


def _shown(path):
    """A path as the user would type it: relative to the current dir when inside it."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build the Keypool Chrome extension (MV3)."
    )
    parser.add_argument(
        "--release", action="store_true", help="no source maps or .py copies (for the Web Store)"
    )
    parser.add_argument(
        "--servers",
        metavar="URL,URL...",
        help="key server base URLs, replacing [tool.keypool] servers (1..20, http/https)",
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, help="output root (default: dist/ in the project)"
    )
    parser.add_argument(
        "--root", metavar="DIR", type=Path, help="project root (default: the dir of build.py)"
    )
    level = parser.add_mutually_exclusive_group()
    level.add_argument("-v", "--verbose", action="store_true", help="show each step and its time")
    level.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return parser.parse_args(argv)


def _log_handlers(args):
    """stdout for progress, stderr for warnings; removed again when main() returns."""
    fmt = logging.Formatter("%(message)s")
    out = logging.StreamHandler(sys.stdout)
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING)
    for handler in (out, err):
        handler.setFormatter(fmt)
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO)
    return (out, err)


def main(argv=None):
    """Run the build; return 0 on success, 1 on failure (printed as one line)."""
    args = parse_args(argv)
    handlers = _log_handlers(args)
    propagate, log.propagate = log.propagate, False
    start = time.perf_counter()
    try:
        root = (args.root or ROOT).resolve()
        out_root = (args.out or root / "dist").resolve()
        servers = parse_servers_option(args.servers) if args.servers is not None else None
        final_dir, final_zip, count, size, sizes = build(root, out_root, servers, args.release)
        bundles = ", ".join(f"{JS_DIR}/{e}.js {n / 1024:.1f} KB" for e, n in sizes.items())
        log.info(
            f"Built {_shown(final_dir)} ({count} files, {size / 1024:.0f} KB; {bundles})"
            f" and {_shown(final_zip)} in {time.perf_counter() - start:.1f} s"
        )
        return 0
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        print("error: unexpected failure in build.py (a bug; traceback above)", file=sys.stderr)
        return 1
    finally:
        for handler in handlers:
            log.removeHandler(handler)
        log.propagate = propagate
