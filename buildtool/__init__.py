"""The build of the Keypool extension, one module per stage; build.py runs it.

The stages, in the order buildtool.pipeline.build runs them:

1. config: read pyproject.toml: [project] for name, version and description,
   [tool.keypool] for the extension's default settings; apply --servers;
2. sources, lint: copy extension_src/**/*.py and *.js to a staging dir, check
   them with CPython's parser and for constructs Transcrypt miscompiles, add
   the generated module build_config.py (NAME, VERSION, DEFAULTS...);
3. render: render templates/manifest.json.j2 and every templates/*.html.j2;
4. transpile, bundle: transpile all entry modules with one Transcrypt run,
   slim its output and bundle each entry with esbuild into js/;
5. sources: copy extension_src/static/ verbatim;
6. validate: check the result (manifest, referenced files, MV3 CSP, node --check);
7. package: zip it and swap it into place, so DIR never holds a half-written build.

errors holds the exceptions a user can fix, layout the dirs, entries and
budgets every stage shares, cli the command line (main). No module here
imports another's private (_-prefixed) names.
"""
