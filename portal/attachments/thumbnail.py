"""The process that makes one preview: ``python -I thumbnail.py FORMAT PIXELS SIDE MEMORY
SECONDS`` reads an image on stdin and writes its preview, a PNG at most SIDE pixels wide
and high, on stdout.

``portal.attachments.previews`` starts it for each image, so that decoding untrusted
bytes happens in a process of its own with a bounded address space (``MEMORY`` bytes,
``RLIMIT_AS``) and CPU time (``SECONDS``, ``RLIMIT_CPU``; the parent also kills it after
that long): a decompression bomb, a slow decoder or a decoder crash costs this process,
never a web or worker process. It imports only the standard library and Pillow (it is run
as a script, so no portal package is imported with it), and sets its limits before
importing Pillow.

The image's size is read from its header first (Pillow opens lazily) and one with more
than ``PIXELS`` pixels is never decoded; only the expected ``FORMAT``'s decoder is tried;
JPEGs are decoded straight at a reduced scale (``Image.draft``), and the others are
reduced before resampling (``thumbnail``'s ``reducing_gap``). Exit status: ``0`` a
preview was written, ``TOO_LARGE`` too many pixels, ``UNREADABLE`` not a readable image of
that format, ``OUT_OF_MEMORY`` the memory bound was reached; stderr says why in one line.
"""
from __future__ import annotations

import io
import resource
import sys

TOO_LARGE, UNREADABLE, OUT_OF_MEMORY = 3, 4, 5


def main(argv: list[str]) -> int:
    image_format, pixels, side, memory, seconds = argv[0], *map(int, argv[1:5])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    try:
        return _preview(sys.stdin.buffer.read(), image_format, pixels, side)
    except MemoryError:
        print(f"decoding needed more than {memory // 2**20} MiB", file=sys.stderr)
        return OUT_OF_MEMORY


def _preview(data: bytes, image_format: str, pixels: int, side: int) -> int:
    import warnings

    from PIL import Image

    # Pillow's own bomb check at the same budget: nothing larger is ever decoded.
    Image.MAX_IMAGE_PIXELS = pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[image_format]) as image:
                if image.width * image.height > pixels:
                    print(f"more than {pixels} pixels: {image.width} × {image.height}",
                          file=sys.stderr)
                    return TOO_LARGE
                image.draft("RGB", (side, side))
                image.thumbnail((side, side))
                if image.mode not in ("RGB", "RGBA"):
                    image = image.convert("RGBA")
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        # Pillow's own check, at open: it names the image's size.
        print(f"more than {pixels} pixels: {bomb}"[:200], file=sys.stderr)
        return TOO_LARGE
    except (OSError, ValueError, SyntaxError, EOFError) as bad:
        # UnidentifiedImageError is an OSError; truncated data and broken chunks are too.
        print(f"not a readable {image_format}: {type(bad).__name__}", file=sys.stderr)
        return UNREADABLE
    sys.stdout.buffer.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
