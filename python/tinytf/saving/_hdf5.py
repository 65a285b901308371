"""A small HDF5 reader and writer for Keras weight files, in pure Python.

Keras stores weights as HDF5 (``model.weights.h5``). tinytf reads and writes
the subset of the format that h5py produces with its default settings, which
is all a Keras weights file uses:

- superblock version 0, 8-byte offsets and lengths;
- "old-style" groups: a symbol-table message pointing at a version-1 B-tree of
  symbol-table nodes (SNOD) and a local heap of names;
- version-1 object headers (with continuation blocks);
- datasets with a contiguous or compact layout and an integer or IEEE float type.

The reader never follows soft or external links, refuses external and virtual
storage, filters and chunking, checks every offset against the file size, and
requires each dataset to store exactly the bytes its shape declares (so a tiny
file cannot make it allocate a huge array). Anything outside the subset is a
ValueError that names the object. Attributes are written (Keras records each
``vars`` group's object name) but not read: loading does not need them.
"""
import struct

import numpy as np

SIGNATURE = b"\x89HDF\r\n\x1a\n"
UNDEF = 0xFFFFFFFFFFFFFFFF
LEAF_K, NODE_K = 4, 16  # h5py's defaults: a SNOD holds 2*4 entries, a B-tree node 2*16 children
SNOD_SIZE = 8 + 2 * LEAF_K * 40
TREE_SIZE = 24 + 2 * NODE_K * 8 + (2 * NODE_K + 1) * 8
MAX_DEPTH, MAX_OBJECTS, MAX_MESSAGES, MAX_RANK = 64, 100_000, 10_000, 32

# message types
NIL, DATASPACE, LINK, DATATYPE, FILL_OLD, FILL, EXTERNAL_FILES, LAYOUT = 0, 1, 6, 3, 4, 5, 7, 8
FILTERS, ATTRIBUTE, CONTINUATION, SYMBOL_TABLE = 11, 12, 16, 17


class Group:
    """A group: attributes (str -> str) and children (name -> Group or ndarray)."""

    def __init__(self):
        self.attrs = {}
        self.children = {}


def _pad8(b):
    return b + b"\0" * (-len(b) % 8)


# --- writing -------------------------------------------------------------------------------------------------
def _datatype(dtype):
    """The datatype message for a little-endian integer or IEEE float dtype."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        flags = 0x08 if dtype.kind == "i" else 0
        return struct.pack("<BBBBIHH", 0x10, flags, 0, 0, dtype.itemsize, 0, dtype.itemsize * 8)
    if dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        sign, exp_loc, exp_size, mant_size, bias = {2: (15, 10, 5, 10, 15), 4: (31, 23, 8, 23, 127),
                                                    8: (63, 52, 11, 52, 1023)}[dtype.itemsize]
        return struct.pack("<BBBBIHHBBBBI", 0x11, 0x20, sign, 0, dtype.itemsize, 0, dtype.itemsize * 8, exp_loc,
                           exp_size, 0, mant_size, bias)
    raise ValueError(f"cannot store arrays of dtype {dtype} in a weights file (integers and floats only)")


def _dataspace(shape):
    return struct.pack("<BBBBI", 1, len(shape), 0, 0, 0) + b"".join(struct.pack("<Q", d) for d in shape)


def _message(kind, body):
    body = _pad8(body)
    return struct.pack("<HHB3x", kind, len(body), 0) + body


def _attribute(name, value):
    name_b, value_b = name.encode() + b"\0", value.encode()
    dtype = struct.pack("<BBBBI", 0x13, 0x11, 0, 0, max(len(value_b), 1))  # fixed-length UTF-8, null-padded
    space = _dataspace(())
    body = struct.pack("<BxHHH", 1, len(name_b), len(dtype), len(space)) + _pad8(name_b) + _pad8(dtype) + \
        _pad8(space) + value_b.ljust(max(len(value_b), 1), b"\0")
    return _message(ATTRIBUTE, body)


class _Writer:
    def __init__(self):
        self.buf = bytearray(96)  # the superblock, written last

    def put(self, data):
        """Appends 8-byte aligned data; returns its address."""
        self.buf += b"\0" * (-len(self.buf) % 8)
        addr = len(self.buf)
        self.buf += data
        return addr

    def header(self, messages):
        body = b"".join(messages)
        return self.put(struct.pack("<BxHII4x", 1, len(messages), 1, len(body)) + body)

    def dataset(self, array):
        array = np.asarray(array, order="C")  # (ascontiguousarray would make scalars 1-D)
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        addr = self.put(data) if data else UNDEF
        layout = struct.pack("<BBQQ", 3, 1, addr, len(data))
        return self.header([_message(DATASPACE, _dataspace(array.shape)), _message(DATATYPE, _datatype(array.dtype)),
                            _message(LAYOUT, layout)])

    def group(self, group):
        """Writes a group's children, then its name heap, symbol-table nodes and B-tree."""
        names = sorted(group.children, key=lambda n: n.encode())
        entries = []
        for name in names:
            child = group.children[name]
            if isinstance(child, Group):
                entries.append((name, *self.group(child)))
            else:
                entries.append((name, self.dataset(child), None))
        heap, offsets = bytearray(b"\0" * 8), []  # offset 0: the empty name
        for name in names:
            offsets.append(len(heap))
            heap += _pad8(name.encode() + b"\0")
        heap_addr = self.put(b"HEAP" + struct.pack("<B3xQQQ", 0, len(heap), 1, 0))  # free list: none (1)
        data_addr = self.put(bytes(heap))
        self.buf[heap_addr + 24:heap_addr + 32] = struct.pack("<Q", data_addr)
        btree = self._btree([(offsets[i], entries[i]) for i in range(len(names))], heap_addr)
        addr = self.header([_message(SYMBOL_TABLE, struct.pack("<QQ", btree, heap_addr))] +
                           [_attribute(k, v) for k, v in group.attrs.items()])
        return addr, (btree, heap_addr)

    def _btree(self, entries, heap_addr):
        """Level-0 nodes over symbol-table nodes of up to 8 entries, then levels above as needed."""
        children = []  # (address, heap offset of the largest name below it)
        for i in range(0, max(len(entries), 1), 2 * LEAF_K):
            chunk = entries[i:i + 2 * LEAF_K]
            node = b"SNOD" + struct.pack("<BxH", 1, len(chunk))
            for offset, (_, addr, stab) in chunk:
                node += struct.pack("<QQI4x", offset, addr, 0 if stab is None else 1)
                node += struct.pack("<QQ", *stab) if stab is not None else b"\0" * 16
            if chunk:
                children.append((self.put(node.ljust(SNOD_SIZE, b"\0")), chunk[-1][0]))
        level = 0
        while True:
            nodes = []
            for i in range(0, max(len(children), 1), 2 * NODE_K):
                chunk = children[i:i + 2 * NODE_K]
                node = b"TREE" + struct.pack("<BBHQQ", 0, level, len(chunk), UNDEF, UNDEF) + struct.pack("<Q", 0)
                for addr, key in chunk:
                    node += struct.pack("<QQ", addr, key)
                nodes.append((self.put(node.ljust(TREE_SIZE, b"\0")), chunk[-1][1] if chunk else 0))
            if len(nodes) == 1:
                return nodes[0][0]
            children, level = nodes, level + 1


def write(root):
    """The bytes of an HDF5 file holding the Group `root`."""
    w = _Writer()
    addr, (btree, heap) = w.group(root)
    w.buf += b"\0" * (-len(w.buf) % 8)
    w.buf[:96] = SIGNATURE + struct.pack("<BBBxBBBxHHI", 0, 0, 0, 0, 8, 8, LEAF_K, NODE_K, 0) + \
        struct.pack("<QQQQ", 0, UNDEF, len(w.buf), UNDEF) + struct.pack("<QQI4xQQ", 0, addr, 1, btree, heap)
    return bytes(w.buf)


# --- reading -------------------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data):
        self.data = memoryview(data)
        self.objects = 0

    def fail(self, where, what):
        raise ValueError(f"HDF5 weights file: {where or '/'}: {what}")

    def take(self, addr, size, where):
        if addr == UNDEF or addr < 0 or size < 0 or addr + size > len(self.data):
            self.fail(where, "truncated or corrupt file (an address points outside it)")
        return self.data[addr:addr + size]

    def unpack(self, fmt, addr, where):
        return struct.unpack_from(fmt, self.take(addr, struct.calcsize(fmt), where))

    def messages(self, addr, where):
        """(type, body) of each message of the version-1 object header at addr."""
        version, count, _, size = self.unpack("<BxHII", addr, where)
        if version != 1:
            self.fail(where, f"unsupported object header version {version} (only h5py's default layout is read)")
        if count > MAX_MESSAGES:
            self.fail(where, f"object header declares {count} messages")
        chunks, out = [(addr + 16, size)], []
        while chunks and len(out) < count:
            pos, left = chunks.pop(0)
            while left >= 8 and len(out) < count:
                kind, length, _ = self.unpack("<HHB", pos, where)
                body = self.take(pos + 8, length, where)
                if length + 8 > left:
                    self.fail(where, "a header message runs past its object header")
                if kind == CONTINUATION:
                    if len(chunks) + len(out) > MAX_MESSAGES:
                        self.fail(where, "too many header continuation blocks")
                    chunks.append(struct.unpack_from("<QQ", body))
                out.append((kind, body))
                pos, left = pos + 8 + length, left - 8 - length
        return out

    def read(self, addr, where="", depth=0, seen=()):
        self.objects += 1
        if depth > MAX_DEPTH or self.objects > MAX_OBJECTS or addr in seen:
            self.fail(where, "groups nest too deeply or form a cycle")
        messages = self.messages(addr, where)
        kinds = {k for k, _ in messages}
        if EXTERNAL_FILES in kinds:
            self.fail(where, "dataset stored in an external file (not allowed)")
        if LINK in kinds:
            for kind, body in messages:
                if kind == LINK:
                    self._check_link(body, where)
            self.fail(where, "new-style (link message) groups are not supported")
        if SYMBOL_TABLE in kinds:
            btree, heap = struct.unpack_from("<QQ", next(b for k, b in messages if k == SYMBOL_TABLE))
            group = Group()
            names = self._heap(heap, where)
            for name, child_addr in self._entries(btree, names, where, 0):
                group.children[name] = self.read(child_addr, f"{where}/{name}", depth + 1, seen + (addr,))
            return group
        if {DATASPACE, DATATYPE, LAYOUT} <= kinds:
            return self._dataset(dict(messages), where)
        self.fail(where, "object is neither a group nor a dataset")

    def _check_link(self, body, where):
        flags = body[1] if len(body) > 1 else 0
        kind = body[2] if flags & 0x08 and len(body) > 2 else 0  # absent: a hard link
        if kind == 1:
            self.fail(where, "soft link (not allowed)")
        if kind == 64:
            self.fail(where, "external link (not allowed)")

    def _heap(self, addr, where):
        if bytes(self.take(addr, 4, where)) != b"HEAP":
            self.fail(where, "corrupt local heap")
        size, _, data = self.unpack("<QQQ", addr + 8, where)
        return bytes(self.take(data, size, where))

    def _name(self, heap, offset, where):
        end = heap.find(b"\0", offset)
        if offset >= len(heap) or end < 0:
            self.fail(where, "corrupt name in a local heap")
        try:
            return heap[offset:end].decode()
        except UnicodeDecodeError:
            self.fail(where, "a name is not valid UTF-8")

    def _entries(self, addr, heap, where, depth):
        """(name, object header address) of the group B-tree at addr, refusing soft links."""
        if depth > MAX_DEPTH:
            self.fail(where, "group B-tree nests too deeply")
        if bytes(self.take(addr, 4, where)) != b"TREE":
            self.fail(where, "corrupt group B-tree")
        kind, level, used = self.unpack("<BBH", addr + 4, where)
        if kind != 0 or used > 2 * NODE_K:
            self.fail(where, "corrupt group B-tree")
        for i in range(used):
            (child,) = self.unpack("<Q", addr + 32 + 16 * i, where)
            if level > 0:
                yield from self._entries(child, heap, where, depth + 1)
                continue
            if bytes(self.take(child, 4, where)) != b"SNOD":
                self.fail(where, "corrupt symbol-table node")
            (count,) = self.unpack("<H", child + 6, where)
            if count > 2 * LEAF_K:
                self.fail(where, "corrupt symbol-table node")
            for j in range(count):
                offset, header, cache = self.unpack("<QQI", child + 8 + 40 * j, where)
                name = self._name(heap, offset, where)
                if cache == 2:
                    self.fail(f"{where}/{name}", "soft link (not allowed)")
                yield name, header

    def _dataset(self, messages, where):
        space, dtype, layout = messages[DATASPACE], messages[DATATYPE], messages[LAYOUT]
        if FILTERS in messages:
            self.fail(where, "compressed or filtered datasets are not supported")
        version, rank = space[0], space[1]
        if version not in (1, 2) or rank > MAX_RANK or (version == 2 and space[3] == 2):
            self.fail(where, "unsupported or corrupt dataspace")
        start = 8 if version == 1 else 4
        shape = struct.unpack_from(f"<{rank}Q", space, start) if len(space) >= start + 8 * rank else None
        if shape is None:
            self.fail(where, "corrupt dataspace")
        dt = self._dtype(dtype, where)
        nbytes = dt.itemsize
        for d in shape:
            nbytes *= d
        if layout[0] == 3 and layout[1] == 1:  # contiguous
            addr, size = struct.unpack_from("<QQ", layout, 2)
            raw = b"" if size == 0 else self.take(addr, size, where)
        elif layout[0] == 3 and layout[1] == 0:  # compact: the data is in the header
            (size,) = struct.unpack_from("<H", layout, 2)
            raw = layout[4:4 + size]
        else:
            self.fail(where, "only contiguous or compact datasets are supported (not chunked or virtual)")
        if len(raw) != nbytes or size != nbytes:
            self.fail(where, f"dataset of shape {tuple(shape)} and dtype {dt} needs {nbytes} bytes, "
                             f"but {size} are stored")
        return np.frombuffer(raw, dt).reshape(shape).astype(dt.newbyteorder("="))

    def _dtype(self, body, where):
        """The numpy dtype of a datatype message: plain integers, and IEEE floats (checked
        field by field, so that e.g. a 2-byte bfloat16 is not taken for a float16)."""
        cls, flags, size = body[0] & 0x0F, body[1], struct.unpack_from("<I", body, 4)[0]
        order = ">" if flags & 1 else "<"
        if cls == 0 and size in (1, 2, 4, 8) and struct.unpack_from("<HH", body, 8) == (0, 8 * size):
            return np.dtype(f"{order}{'i' if flags & 0x08 else 'u'}{size}")
        if cls == 1 and size in (2, 4, 8) and body[:4] == _datatype(f"f{size}")[:4] and \
                bytes(body[8:20]) == _datatype(f"f{size}")[8:20]:
            return np.dtype(f"<f{size}")
        self.fail(where, f"unsupported datatype (class {cls}, {size} bytes): only integers and IEEE "
                         "little-endian floats are read")


def read(data):
    """The root Group of the HDF5 file in bytes `data`."""
    try:
        return _read(_Reader(data))
    except (struct.error, IndexError, OverflowError, UnicodeDecodeError) as e:  # a field too short or too large
        raise ValueError(f"HDF5 weights file: corrupt file ({type(e).__name__}: {e})") from None


def _read(r):
    if bytes(r.take(0, 8, "")) != SIGNATURE:
        r.fail("", "not an HDF5 file (bad signature)")
    version, offsets, lengths = r.unpack("<B4xBB", 8, "")
    if version not in (0, 1) or offsets != 8 or lengths != 8:
        r.fail("", f"unsupported superblock (version {version}, {offsets}-byte offsets): only h5py's default "
                   "layout is read")
    root_entry = 56 if version == 0 else 60
    (root,) = r.unpack("<Q", root_entry + 8, "")
    out = r.read(root)
    if not isinstance(out, Group):
        r.fail("", "the root object is not a group")
    return out
