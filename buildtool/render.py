"""Jinja2: manifest.json.j2 and every page template, rendered into the extension."""

import json
import traceback
from pathlib import Path

import jinja2

from .errors import TemplateError
from .layout import TEMPLATE_DIR


def render_templates(root, out, context):
    """Render manifest.json.j2 and every *.html.j2 (not _partials) into `out`."""
    template_root = root / TEMPLATE_DIR
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_root),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "html.j2", "htm.j2"), default=False
        ),
        keep_trailing_newline=True,
    )
    env.policies["json.dumps_function"] = _dumps_defined
    names = ["manifest.json.j2"] + sorted(
        p.name for p in template_root.glob("*.html.j2") if not p.name.startswith("_")
    )
    if not (template_root / "manifest.json.j2").is_file():
        raise TemplateError("missing", path=f"{TEMPLATE_DIR}/manifest.json.j2")
    rendered = {}
    for name in names:
        target = name.removesuffix(".j2")
        text = _render(env, template_root, name, dict(context, page=Path(target).stem))
        if name == "manifest.json.j2":
            try:
                manifest = json.loads(text)
            except json.JSONDecodeError as e:
                raise TemplateError(
                    f"renders invalid JSON: {e.msg} (rendered line {e.lineno})",
                    path=f"{TEMPLATE_DIR}/{name}",
                ) from None
            text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (out / target).write_text(text, encoding="utf-8")
        rendered[target] = name
    return rendered


def _dumps_defined(value, **kwargs):
    """json.dumps for `tojson` that raises UndefinedError on an undefined value."""

    def default(obj):
        if isinstance(obj, jinja2.Undefined):
            obj._fail_with_undefined_error()
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    return json.dumps(value, default=default, **kwargs)


def _render(env, template_root, name, context):
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as e:
        shown = _template_path(e.filename, template_root) or f"{TEMPLATE_DIR}/{name}"
        raise TemplateError(
            f"template syntax error: {e.message}", path=shown, line=e.lineno
        ) from None
    except Exception as e:  # UndefinedError, or a TypeError from the template's own expressions
        shown, line = f"{TEMPLATE_DIR}/{name}", None
        for frame in reversed(traceback.extract_tb(e.__traceback__)):
            frame_path = _template_path(frame.filename, template_root)
            if frame_path:
                shown, line = frame_path, frame.lineno
                break
        raise TemplateError(f"{type(e).__name__}: {e}", path=shown, line=line) from None


def _template_path(filename, template_root):
    if not filename:
        return None
    try:
        return f"{TEMPLATE_DIR}/{Path(filename).resolve().relative_to(template_root.resolve()).as_posix()}"
    except ValueError:
        return None
