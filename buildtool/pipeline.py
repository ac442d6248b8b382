"""The build, stage after stage, in a staging dir that replaces the output at the end."""

import os
import shutil
import time

from .bundle import bundle, check_budgets, slim_transcrypt
from .config import chrome_version, host_permissions, load_project
from .layout import JS_DIR, OUTPUT_NAME, RAW_DIR, log
from .lint import check_python
from .package import remove_stale, swap_into_place, write_zip
from .render import render_templates
from .sources import build_config_source, copy_sources, copy_static
from .transpile import check_transcrypt_version, tidy_js, transpile
from .validate import check_js, validate


def build(root, out_root, servers=None, release=False):
    """Build into out_root/chrome-mv3 and out_root/<zip>.

    Returns (dir, zip, file count, total bytes, {entry: bundle bytes}).
    """
    timer = _Timer()
    project = load_project(root)
    defaults = dict(project.defaults)
    if servers is not None:
        defaults["servers"] = servers
    chrome_ver = chrome_version(project.version)
    check_transcrypt_version(project.transcrypt_pin)
    timer.step("config")

    out_root.mkdir(parents=True, exist_ok=True)
    remove_stale(out_root)
    staging = out_root / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        src = staging / "src"
        ext = staging / OUTPUT_NAME
        js_dir = ext / JS_DIR
        js_dir.mkdir(parents=True)

        files = copy_sources(root, src)
        check_python(src, files)
        (src / "build_config.py").write_text(
            build_config_source(project, defaults, release), encoding="utf-8"
        )
        timer.step("sources")

        context = {
            "name": project.name,
            "display_name": project.display_name,
            "version": chrome_ver,
            "version_name": project.version,
            "description": project.description,
            "servers": defaults["servers"],
            "host_permissions": host_permissions(defaults),
            "provider_base_url": defaults["provider"]["baseUrl"],
            "config": defaults,
            "release": release,
            "js_dir": JS_DIR,
        }
        rendered = render_templates(root, ext, context)
        timer.step("templates")

        raw_dir = staging / RAW_DIR
        raw_dir.mkdir()
        transpile(src, raw_dir, release)
        tidy_js(raw_dir, release)
        timer.step("transcrypt")
        slim_transcrypt(raw_dir)
        sizes = bundle(root, staging, raw_dir, js_dir, release)
        timer.step("bundle")
        check_budgets(sizes, release)

        copy_static(root, ext)
        validate(ext, rendered, chrome_ver)
        check_js(ext)
        timer.step("validate")

        staged_zip = staging / project.zip_name
        write_zip(ext, staged_zip)
        files = [p for p in ext.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        final_dir, final_zip = out_root / OUTPUT_NAME, out_root / project.zip_name
        swap_into_place(ext, staged_zip, final_dir, final_zip, out_root / f".old-{os.getpid()}")
        timer.step("zip")
        return final_dir, final_zip, len(files), size, sizes
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _Timer:
    def __init__(self):
        self.start = self.last = time.perf_counter()

    def step(self, name):
        now = time.perf_counter()
        log.debug(f"  {name}: {now - self.last:.2f} s")
        self.last = now
