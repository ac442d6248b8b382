"""Python checks before Transcrypt: CPython's parser and Transcrypt's silent traps."""

import ast

from .errors import SourceError
from .layout import SOURCE_DIR


class TranscryptLint(ast.NodeVisitor):
    """Constructs that Transcrypt 3.9.5 rejects at load time or miscompiles silently.

    TRANSCRYPT.md rule 9; the build fails here instead of shipping broken JS.
    """

    def __init__(self):
        self.problems = []  # (line, message)
        self._comprehension_depth = 0

    def _report(self, node, message):
        self.problems.append((node.lineno, message))

    def visit_NamedExpr(self, node):
        self._report(node, "the walrus operator (:=) is miscompiled by Transcrypt")
        self.generic_visit(node)

    def visit_Match(self, node):
        self._report(node, "match statements are miscompiled by Transcrypt")
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.module == "__future__" and any(a.name == "annotations" for a in node.names):
            self._report(node, "'from __future__ import annotations' breaks Transcrypt's output")

    def visit_Dict(self, node):
        if any(key is None for key in node.keys):
            self._report(node, "dict unpacking ({**a}) is not supported by Transcrypt")
        self.generic_visit(node)

    def _visit_comprehension(self, node):
        self._comprehension_depth += 1
        self.generic_visit(node)
        self._comprehension_depth -= 1

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def _visit_function(self, node):
        depth, self._comprehension_depth = self._comprehension_depth, 0
        self.generic_visit(node)
        self._comprehension_depth = depth

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def visit_Await(self, node):
        if self._comprehension_depth:
            self._report(node, "await inside a comprehension compiles to invalid JS; use a loop")
        self.generic_visit(node)


def check_python(src, files):
    """Parse every copied module with CPython and lint it for Transcrypt."""
    for rel in files:
        shown = f"{SOURCE_DIR}/{rel.as_posix()}"
        text = (src / rel).read_text(encoding="utf-8")
        try:
            tree = ast.parse(text, filename=shown)
        except SyntaxError as e:
            raise SourceError(f"SyntaxError: {e.msg}", path=shown, line=e.lineno) from None
        lint = TranscryptLint()
        lint.visit(tree)
        if lint.problems:
            line, message = min(lint.problems)
            raise SourceError(message, path=shown, line=line)
