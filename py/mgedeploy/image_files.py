"""Which files an image argument names: a file as it is, a folder recursively (image files only,
by extension, in sorted order). cc/image_files.cc is the twin: the same extensions, the same order
(byte order of the paths), so both programs list a folder identically."""
import os

# What OpenCV's imread decodes (GIF only in newer OpenCV builds: listed so a GIF gets its own
# "not an image" answer instead of being skipped silently).
EXTENSIONS = (".bmp", ".dib", ".gif", ".jpe", ".jpeg", ".jpg", ".jp2", ".pbm", ".pgm", ".png", ".pnm", ".ppm",
              ".pxm", ".ras", ".sr", ".tif", ".tiff", ".webp")


def is_image_name(name):
    return os.path.splitext(name)[1].lower() in EXTENSIONS


NO_IMAGES = "no image files in this folder"


def expand(path):
    """[path] for a file (or anything that is not a folder: reading it reports the problem); for a
    folder, its image files at any depth, sorted; symbolic links to folders are not followed. A
    folder with no image files gives [] (the programs report it as NO_IMAGES)."""
    if not os.path.isdir(path):
        return [path]
    found = []
    for folder, subfolders, files in os.walk(path):
        subfolders.sort()
        found += [os.path.join(folder, name) for name in files if is_image_name(name)]
    return sorted(found, key=lambda p: p.encode("utf-8", "surrogateescape"))
