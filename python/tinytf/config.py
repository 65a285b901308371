"""``tinytf.config``: threading and devices, named as in ``tf.config``."""
from . import _core


class threading:  # noqa: N801  (a namespace, spelled as tf.config.threading)
    """Intra-op threads are OpenMP threads; the setting is obeyed by every kernel.
    0 means the default: ``OMP_NUM_THREADS`` if set, else every core."""

    _intra = 0
    _inter = 0

    @staticmethod
    def set_intra_op_parallelism_threads(num_threads):
        threading._intra = _check_count(num_threads)
        _core.set_num_threads(threading._intra)

    @staticmethod
    def get_intra_op_parallelism_threads():
        return threading._intra

    @staticmethod
    def set_inter_op_parallelism_threads(num_threads):
        # tinytf runs one op at a time; kept so TF code that sets it runs unchanged.
        threading._inter = _check_count(num_threads)

    @staticmethod
    def get_inter_op_parallelism_threads():
        return threading._inter


def _check_count(n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"num_threads must be an int, got {n!r}")
    if n < 0:
        raise ValueError(f"num_threads must be >= 0 (0 means the default), got {n}")
    return n


class PhysicalDevice:
    __slots__ = ("name", "device_type")

    def __init__(self, name, device_type):
        self.name, self.device_type = name, device_type

    def __repr__(self):
        return f"PhysicalDevice(name='{self.name}', device_type='{self.device_type}')"


def list_physical_devices(device_type=None):
    """tinytf runs on the CPU only: one CPU device, no GPUs."""
    if device_type in (None, "CPU"):
        return [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    return []


list_logical_devices = list_physical_devices
