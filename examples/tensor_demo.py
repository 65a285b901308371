"""A first look at tinytf tensors: zero-copy numpy interop and seeded randomness."""
import numpy as np

import tinytf as tf

tf.random.set_seed(42)
a = np.arange(6, dtype=np.float32).reshape(2, 3)
t = tf.constant(a)  # wraps `a`, no copy
print(t)
print("shares memory with the numpy array:", np.shares_memory(np.asarray(t), a))
print("random normal:", tf.random.normal([4]).numpy())
print("threads:", tf._core.get_num_threads(), "| kernels:", tf._core.isa())
