"""Edits of saved model files (a zip of config.json and .npy arrays), for the fault and hostile-input tests."""
import json
import struct
import zipfile


def rewrite_zip(path, out, change):
    """Copy the zip at ``path`` to ``out`` with ``change(members)`` applied to its {name: bytes}."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out


def config_edit(change):
    """A ``rewrite_zip`` change that applies ``change(config)`` to the parsed config.json."""
    def edit(members):
        config = json.loads(members["config.json"])
        change(config)
        members["config.json"] = json.dumps(config).encode()
    return edit


_LOCAL, _CENTRAL = b"PK\x03\x04", b"PK\x01\x02"
# offsets of the fields in a local file header and in a central directory entry
_FIELDS = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "crc": (14, 16, "<I"), "size": (22, 24, "<I")}


def patch_headers(data: bytes, name: str, **fields) -> bytes:
    """``data`` (a zip without zip64 entries) with the header fields of entry
    ``name`` (flags, method, crc, size: the uncompressed size) set to ``fields``,
    in its local header and its central directory entry alike."""
    data = bytearray(data)
    for signature, column, name_length_at, name_at in ((_LOCAL, 0, 26, 30), (_CENTRAL, 1, 28, 46)):
        at = data.find(signature)
        while at != -1:
            length = struct.unpack_from("<H", data, at + name_length_at)[0]
            if data[at + name_at:at + name_at + length] == name.encode():
                for field, value in fields.items():
                    offset, fmt = _FIELDS[field][column], _FIELDS[field][2]
                    struct.pack_into(fmt, data, at + offset, value)
            at = data.find(signature, at + 1)
    return bytes(data)
