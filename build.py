#!/usr/bin/env python3
"""Build the Keypool Chrome extension (MV3) from Python sources.

    python build.py [--release] [--servers URL,URL...] [--out DIR] [--root DIR] [-v|-q]

Writes DIR/chrome-mv3/ (load it with "Load unpacked") and
DIR/<name>-<version>-chrome.zip (upload it to the Chrome Web Store);
DIR defaults to dist/ next to this file.

This file is only the entry point: the build's stages are the modules of
buildtool/ (config, sources, lint, transpile, bundle, render, validate,
package), run in order by buildtool.pipeline.build; buildtool/__init__.py
lists the steps.

main(argv) (buildtool.cli.main) is a plain function that tests call
in-process. A failure the user can fix prints one
`error: <file>:<line>: <message>` line on stderr and returns 1; anything
else is a bug in the build and prints a traceback.
"""

import sys

from buildtool.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
