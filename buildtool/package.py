"""The zip, and the swap that replaces the previous build only when the new one is whole."""

import os
import re
import shutil
import zipfile

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so that equal inputs give equal zips


def write_zip(out, zip_path):
    """The extension's files at the zip's root, in sorted order, with fixed dates."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(out).as_posix(), date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())


def swap_into_place(staged_dir, staged_zip, final_dir, final_zip, old):
    """Replace the previous build: rename it away, rename the new one in, then delete it."""
    had_old = final_dir.exists()
    if had_old:
        os.rename(final_dir, old)
    try:
        os.rename(staged_dir, final_dir)
    except OSError:
        if had_old:
            os.rename(old, final_dir)
        raise
    os.replace(staged_zip, final_zip)
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale(out_root):
    """Delete staging dirs left by builds that died (their pid no longer runs)."""
    for path in out_root.glob(".*-*"):
        m = re.fullmatch(r"\.(?:staging|old)-(\d+)", path.name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and _pid_alive(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
