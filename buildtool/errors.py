"""The failures the user can fix: each is printed as one `error: ...` line."""


class BuildError(Exception):
    """A failure the user can fix, printed as one `error: ...` line.

    `path` is shown relative to the project root where possible, followed by
    `:line` when the line is known; `hint` says what to do about it.
    """

    def __init__(self, message, path=None, line=None, hint=None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def __str__(self):
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class ConfigError(BuildError):
    """pyproject.toml or a command-line option is wrong."""


class SourceError(BuildError):
    """Python source that CPython or Transcrypt rejects."""


class TemplateError(BuildError):
    """A Jinja2 template fails to parse or to render."""


class ValidationError(BuildError):
    """The built extension is inconsistent: a missing file, a bad manifest, bad JS."""


class ToolError(BuildError):
    """A tool the build runs (Transcrypt, node) is missing or failed oddly."""
