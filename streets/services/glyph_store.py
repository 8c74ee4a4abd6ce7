"""The glyph PBFs on this machine's disk, made once and kept (gzipped).

``manage.py build_glyphs`` (run by scripts/setup.sh) makes the ranges every page's
labels use; a range nobody built yet is made on its first request (under a second)
and kept. The files are a build product of the font and the generator only, the same
on every machine, so each web machine makes its own: nothing is handed between
processes through the disk. A new generator or font changes ``GLYPHS_VERSION``, which
is in the URL, so the browser's immutable copies are never stale.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

from django.conf import settings

from streets.services.map_glyphs import FONTS, glyph_range, range_bounds

GLYPHS_VERSION = "1"
# Latin, Latin Extended and the general punctuation (dashes, quotes): every name in
# the bundled data falls in these.
COMMON_RANGES = (0, 256, 8192)


def _path(stack: str, start: int) -> Path:
    first, last = range_bounds(start)
    return (
        Path(settings.MAP_GLYPHS_DIR)
        / GLYPHS_VERSION
        / stack
        / f"{first}-{last}.pbf.gz"
    )


def glyphs_gz(stack: str, start: int) -> bytes:
    """The gzipped PBF of one range, made and kept on a miss (UnknownFont,
    ValueError for a range that does not start at a multiple of 256)."""
    path = _path(stack, start)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    body = gzip.compress(glyph_range(stack, start), compresslevel=9, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a concurrent reader sees all of it or nothing.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; every worker user reads it
    os.replace(tmp, path)
    return body


def build(ranges=COMMON_RANGES) -> list[Path]:
    """Make every font stack's ``ranges`` (setup time)."""
    made = []
    for stack in FONTS:
        for start in ranges:
            glyphs_gz(stack, start)
            made.append(_path(stack, start))
    return made
