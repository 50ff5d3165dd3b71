"""Edits of saved model files (a zip of config.json and .npy arrays), for the fault and hostile-input tests."""
import json
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
