"""Foundation: tensor storage, views, numpy interop, lifetimes, dtypes, errors."""
import gc
import sys

import numpy as np
import pytest

import tinytf as tf
from tinytf import _core


def core_of(t):
    return t._t


# --- storage and views -------------------------------------------------------

def test_reshape_of_contiguous_is_a_view():
    t = tf.constant(np.arange(12, dtype=np.float32))
    v = core_of(t).reshape([3, 4])
    assert v.data_ptr == core_of(t).data_ptr
    np.testing.assert_array_equal(np.asarray(v), np.arange(12).reshape(3, 4))


def test_reshape_infers_one_dimension_and_rejects_bad_sizes():
    c = core_of(tf.constant(np.arange(12, dtype=np.float32)))
    assert c.reshape([-1, 6]).shape == (2, 6)
    with pytest.raises(ValueError, match="cannot reshape"):
        c.reshape([5, -1])
    with pytest.raises(ValueError, match="only one dimension"):
        c.reshape([-1, -1])
    with pytest.raises(ValueError, match="13 elements|12 elements"):
        c.reshape([13])


def test_permute_is_a_view_and_reshape_of_it_copies():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    c = core_of(tf.constant(a))
    p = c.permute([1, 0])
    assert p.storage_ptr == c.storage_ptr and not p.is_contiguous
    np.testing.assert_array_equal(np.asarray(p), a.T)
    r = p.reshape([6])  # not expressible as a view: a copy in the permuted order
    assert r.storage_ptr != c.storage_ptr
    np.testing.assert_array_equal(np.asarray(r), a.T.reshape(6))
    with pytest.raises(ValueError, match="permutation"):
        c.permute([0, 0])


@pytest.mark.parametrize("start,stop,step", [(0, 5, 1), (1, 4, 1), (0, 5, 2), (3, 3, 1), (4, 5, 3)])
def test_slice_of_leading_axis_is_a_view(start, stop, step):
    a = np.arange(5 * 3, dtype=np.int32).reshape(5, 3)
    c = core_of(tf.constant(a))
    s = c.slice(start, stop, step)
    assert s.storage_ptr == c.storage_ptr
    np.testing.assert_array_equal(np.asarray(s), a[start:stop:step])


def test_slice_out_of_range_raises():
    c = core_of(tf.zeros([4, 2]))
    with pytest.raises(IndexError):
        c.slice(0, 5)
    with pytest.raises(ValueError):
        c.slice(0, 2, 0)


def test_contiguous_copy_of_strided_view_matches_numpy():
    a = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    c = core_of(tf.constant(a)).permute([2, 0, 1]).slice(1, 6, 2)
    out = c.contiguous()
    assert out.is_contiguous
    np.testing.assert_array_equal(np.asarray(out), a.transpose(2, 0, 1)[1:6:2])


def test_views_keep_the_storage_of_a_dropped_tensor_alive():
    t = tf.constant(np.arange(8, dtype=np.float32))
    v = core_of(t).reshape([2, 4])
    del t
    gc.collect()
    tf.ones([1000])  # reuse freed memory if the storage had been released
    np.testing.assert_array_equal(np.asarray(v), np.arange(8).reshape(2, 4))


def test_storage_is_64_byte_aligned():
    for n in [1, 3, 17, 1000]:
        assert core_of(tf.zeros([n])).data_ptr % 64 == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="transparent huge pages are Linux's")
def test_storage_from_4_mb_is_2_mb_aligned_for_huge_pages():
    for shape in [[1024, 1024], [1024, 1025], [3, 1000, 1000]]:  # 4 MiB, 4 MiB + 4 KiB, 11.4 MiB
        t = tf.fill(shape, 2.5)
        assert core_of(t).data_ptr % (2 << 20) == 0
        np.testing.assert_array_equal(t.numpy(), np.full(shape, 2.5, np.float32))


# --- numpy interop -------------------------------------------------------------

def test_constant_wraps_a_contiguous_array_without_copy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tf.constant(a)
    assert core_of(t).data_ptr == a.ctypes.data
    a[1, 2] = 42.0  # write through numpy, read through the tensor
    assert t.numpy()[1, 2] == 42.0


def test_numpy_and_asarray_view_the_tensor_without_copy():
    t = tf.ones([3, 2])
    v = np.asarray(t)
    assert v.ctypes.data == core_of(t).data_ptr
    assert t.numpy().ctypes.data == core_of(t).data_ptr
    v[0, 0] = 7.0  # write through the view, read through a new view
    assert np.asarray(t)[0, 0] == 7.0


def test_numpy_view_outlives_the_tensor():
    t = tf.fill([1000], 3.5)
    v = t.numpy()
    del t
    gc.collect()
    junk = [tf.fill([1000], -1.0) for _ in range(10)]  # would reuse the memory if freed
    assert (v == 3.5).all() and len(junk) == 10


def test_tensor_outlives_the_numpy_array_it_wraps():
    a = np.arange(100, dtype=np.int64)
    t = tf.constant(a)
    del a
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), np.arange(100))


def test_tensor_releases_the_wrapped_array():
    import weakref

    a = np.arange(10, dtype=np.float32)
    ref = weakref.ref(a)
    t = tf.constant(a)
    del a
    gc.collect()
    assert ref() is not None
    del t
    gc.collect()
    assert ref() is None


def test_non_contiguous_readonly_and_byteswapped_inputs_are_copied():
    base = np.arange(20, dtype=np.float32).reshape(4, 5)
    strided = base[:, ::2]
    t = tf.constant(strided)
    assert not np.shares_memory(t.numpy(), base)
    np.testing.assert_array_equal(t.numpy(), strided)

    ro = np.arange(4, dtype=np.float32)
    ro.flags.writeable = False
    t = tf.constant(ro)
    assert not np.shares_memory(t.numpy(), ro)

    be = np.arange(4, dtype=">f4")
    t = tf.constant(be)
    assert t.dtype == tf.float32
    np.testing.assert_array_equal(t.numpy(), [0, 1, 2, 3])


def test_dtype_conversion_copies():
    a = np.arange(4, dtype=np.int32)
    t = tf.constant(a, dtype=tf.float64)
    assert t.dtype == tf.float64 and not np.shares_memory(t.numpy(), a)
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "value,dtype",
    [
        ([1.0, 2.0], tf.float32),
        (1.5, tf.float32),
        ([1, 2], tf.int32),
        (3, tf.int32),
        ([True, False], tf.bool),
        (np.zeros(2, np.float64), tf.float64),
        (np.zeros(2, np.int64), tf.int64),
        (np.zeros(2, np.uint8), tf.uint8),
        (np.float64(2.0), tf.float64),
    ],
)
def test_inferred_dtypes_follow_tensorflow(value, dtype):
    t = tf.constant(value)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(value))


def test_cast_between_all_dtypes_matches_numpy():
    a = np.array([-2.7, -0.5, 0.0, 1.0, 3.9], dtype=np.float64)
    for src in ["float32", "float64", "int32", "int64"]:
        for dst in ["float32", "float64", "int32", "int64", "bool"]:
            x = a.astype(src)
            got = np.asarray(core_of(tf.constant(x)).to(tf.as_dtype(dst)._core))
            np.testing.assert_array_equal(got, x.astype(dst))


def test_dtype_objects_compare_with_names_and_numpy():
    assert tf.float32 == "float32" and tf.float32 == np.float32 and tf.float32 == np.dtype("float32")
    assert tf.float32 != tf.float64
    assert np.dtype(tf.int64) == np.int64
    assert tf.as_dtype(float) is tf.float32 and tf.as_dtype(bool) is tf.bool
    with pytest.raises(TypeError, match="Unsupported dtype"):
        tf.as_dtype("complex64")


def test_shape_and_repr():
    t = tf.zeros([2, 3])
    assert t.shape == (2, 3) and t.shape == [2, 3] and t.shape.as_list() == [2, 3]
    assert t.shape.rank == 2 and t.ndim == 2 and len(t) == 2
    r = repr(t)
    assert "shape=(2, 3)" in r and "dtype=float32" in r


def test_zeros_ones_fill_and_like():
    np.testing.assert_array_equal(tf.zeros([2, 3], "int64").numpy(), np.zeros((2, 3), np.int64))
    np.testing.assert_array_equal(tf.ones(4).numpy(), np.ones(4, np.float32))
    f = tf.fill([2, 2], 2.5)
    assert f.dtype == tf.float32
    np.testing.assert_array_equal(f.numpy(), np.full((2, 2), 2.5))
    assert tf.fill([3], 7).dtype == tf.int32
    assert tf.ones_like(tf.zeros([5], "float64")).dtype == tf.float64
    assert tf.constant(0.0, shape=[2, 3]).shape == (2, 3)


def test_empty_dimensions_are_allowed():
    t = tf.zeros([0, 5])
    assert t.shape == (0, 5) and t.numpy().size == 0
    np.testing.assert_array_equal(core_of(t).reshape([5, 0]).shape, (5, 0))


# --- errors ----------------------------------------------------------------------

def test_negative_dimension_raises_value_error():
    with pytest.raises(ValueError, match="negative"):
        tf.zeros([2, -1])
    with pytest.raises(ValueError, match="negative"):
        _core.empty([3, -2], _core.DType.float32)


def test_overflowing_and_impossible_sizes_raise_memory_error():
    with pytest.raises(MemoryError, match="too large"):
        tf.zeros([2**40, 2**40])
    with pytest.raises(MemoryError, match="too large"):
        _core.empty([2**62], _core.DType.float32)  # bytes overflow int64
    with pytest.raises(MemoryError):
        tf.zeros([2**50])  # 4 PiB: representable, but cannot be allocated


def test_object_and_unsupported_arrays_raise_type_error():
    with pytest.raises(TypeError, match="object"):
        tf.constant(np.array([1, "a"], dtype=object))
    with pytest.raises(TypeError, match="unsupported numpy dtype"):
        tf.constant(np.zeros(3, np.complex64))
    with pytest.raises(TypeError):
        tf.constant("hello")
    with pytest.raises(ValueError):
        tf.constant([[1, 2], [3]])  # ragged


def test_from_numpy_rejects_what_it_cannot_wrap():
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.from_numpy(np.zeros((4, 4), np.float32)[:, ::2])
    with pytest.raises(TypeError, match="unsupported"):
        _core.from_numpy(np.zeros(3, np.float16))


def test_bad_shapes_raise():
    with pytest.raises(TypeError):
        tf.zeros([2.5])
    with pytest.raises(TypeError):
        tf.zeros("abc")
    with pytest.raises(ValueError):
        tf.ones([-3])


def test_scalar_conversions():
    assert float(tf.constant(2.5)) == 2.5 and int(tf.constant(3)) == 3
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tf.zeros([2]))
    with pytest.raises(TypeError):
        len(tf.constant(1.0))
