"""Preprocessing layers: images (C++ kernels), feature normalization, text."""
from .image import (CenterCrop, RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation,
                    RandomTranslation, RandomZoom, Rescaling, Resizing)
from .normalization import Normalization
from .text_vectorization import TextVectorization
