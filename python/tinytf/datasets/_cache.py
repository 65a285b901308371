"""Where datasets come from: a local cache first (TINYTF_DATA_DIR, then
~/.tinytf/datasets), else a download from Keras' public location, checked
against its sha256 before it is kept."""
import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def cache_dirs():
    dirs = []
    if os.environ.get("TINYTF_DATA_DIR"):
        dirs.append(Path(os.environ["TINYTF_DATA_DIR"]).expanduser())
    dirs.append(Path("~/.tinytf/datasets").expanduser())
    return dirs


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find(names):
    """The first cached file among `names` (an explicit path is used as is)."""
    for name in names:
        p = Path(name).expanduser()
        if p.is_absolute() and p.exists():
            return p
        for d in cache_dirs():
            if (d / name).exists():
                return d / name
    return None


def fetch(name, origin, file_hash, cache_names=()):
    """A local path to dataset file `name`: from the cache, else downloaded."""
    cached = find([name, *cache_names])
    if cached is not None:
        return cached
    target_dir = cache_dirs()[0]
    tmp = None
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target_dir, suffix=".part")
        os.close(fd)
        urllib.request.urlretrieve(origin, tmp)
    except OSError as e:
        if tmp is not None:
            os.unlink(tmp)
        raise RuntimeError(
            f"Could not download {name} from {origin} ({e}) and no cached copy was found in "
            f"{', '.join(str(d) for d in cache_dirs())}. Put the file there, or set TINYTF_DATA_DIR to a folder "
            f"that holds it.") from None
    if file_hash and sha256(tmp) != file_hash:
        os.unlink(tmp)
        raise RuntimeError(f"Downloaded {name} from {origin}, but its sha256 does not match {file_hash}")
    os.replace(tmp, target_dir / name)
    return target_dir / name
