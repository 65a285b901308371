"""``tinytf.datasets``: Keras' datasets with Keras' ``load_data()`` signatures.

Files are looked up in TINYTF_DATA_DIR, then ~/.tinytf/datasets, and
downloaded from Keras' public location (sha256 checked) when missing.
``digits`` ships inside the package and needs no download."""
from . import cifar10, digits, fashion_mnist, imdb, mnist
