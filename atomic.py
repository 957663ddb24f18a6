"""Publishing files atomically: write a temporary file beside the target, then `os.replace` it in.

`tempfile.mkstemp` creates files readable by their owner only (0600); the published file should get the
usual permissions (0666 less the umask), like any file the user's programs write.
"""

import os


def publish(temporary, path):
    """Gives `temporary` the default file mode and renames it onto `path` in one atomic step."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)
