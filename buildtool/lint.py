"""Python checks before Transcrypt: CPython's parser and Transcrypt's silent traps."""

import ast

from .errors import SourceError
from .layout import SOURCE_DIR


# str methods that take characters to strip: Transcrypt ignores the argument.
_STRIP_METHODS = ("strip", "lstrip", "rstrip")
_SEQUENCE_LITERALS = (ast.List, ast.Tuple, ast.Set)


def _is_constant(node):
    """A constant, or a negative one (-1): the same value whenever it is evaluated."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant)


def _is_literal_list(node):
    return isinstance(node, (ast.List, ast.ListComp))


class TranscryptLint(ast.NodeVisitor):
    """Constructs that Transcrypt 3.9.5 rejects at load time or miscompiles silently.

    TRANSCRYPT.md rules 7 to 9 and §2.3-§4: the build fails here instead of
    shipping JS that runs and gives the wrong answer. Each check is on the
    syntax alone, so it names only the cases it can tell for sure.
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

    def _visit_sequence(self, node):
        if any(isinstance(e, ast.Starred) for e in node.elts) and isinstance(node.ctx, ast.Load):
            self._report(node, "[*a, *b] gives a nested list in Transcrypt; use .extend()")
        self.generic_visit(node)

    visit_List = visit_Tuple = visit_Set = _visit_sequence

    def visit_Subscript(self, node):
        index = node.slice
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) \
                and isinstance(index.operand, ast.Constant):
            self._report(node, "a negative index (a[-1]) is undefined in Transcrypt; "
                               "write a[len(a) - 1]")
        self.generic_visit(node)

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, str):
            self._report(node, "'%' string formatting gives NaN in Transcrypt; use an f-string")
        if isinstance(node.op, ast.Mult) and (_is_literal_list(node.left)
                                               or _is_literal_list(node.right)):
            self._report(node, "[x] * n is not a repeated list in Transcrypt; use a comprehension")
        if isinstance(node.op, ast.Add) and (_is_literal_list(node.left)
                                              or _is_literal_list(node.right)):
            self._report(node, "list + list joins them as text in Transcrypt; use .extend()")
        self.generic_visit(node)

    def visit_FormattedValue(self, node):
        if node.format_spec is not None:
            self._report(node, "f-string format specs (f'{x:.2f}') are dropped by Transcrypt; "
                               "use x.toFixed(2)")
        if node.conversion not in (-1, None):
            self._report(node, "f-string conversions (!r, !s, !a) are dropped by Transcrypt")
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _STRIP_METHODS and node.args:
            self._report(node, f".{func.attr}(chars) ignores chars in Transcrypt; "
                               "strip them with a loop or slicing")
        self.generic_visit(node)

    def visit_Compare(self, node):
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.Eq, ast.NotEq)) and any(
                    isinstance(side, (*_SEQUENCE_LITERALS, ast.Dict)) for side in (node.left, right)):
                self._report(node, "== on a list or dict compares identity in Transcrypt; "
                                   "compare len() or the items")
                break
        self.generic_visit(node)

    def _visit_comprehension(self, node):
        self._comprehension_depth += 1
        self.generic_visit(node)
        self._comprehension_depth -= 1

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def _visit_function(self, node):
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None and not _is_constant(default):
                self._report(default, "a default other than a constant is evaluated at call "
                                      "time by Transcrypt (lambda i=i: i gives None)")
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
