"""Keys and secrets created once, whatever number of processes start at the same moment.

A fresh secret is written to a temporary file and hard-linked to its final name: the
link fails if the name exists, so of several gunicorn workers racing, exactly one wins
and every other one reads the winner's file. `flask linli-keys` creates them at deploy.
"""
import os
import secrets
import tempfile


def create_once(path, make):
    """Return the bytes stored at `path`, creating them with make() if nobody has yet."""
    if not os.path.exists(path):
        folder = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".new-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(make())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race: use its key
        finally:
            os.unlink(tmp)
    with open(path, "rb") as f:
        return f.read()


def instance_secret(app, name, length=32):
    path = os.path.join(app.instance_path, name)
    return create_once(path, lambda: secrets.token_hex(length).encode()).decode().strip()


def vapid_pem():
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02
    fresh = Vapid02()
    fresh.generate_keys()
    return fresh.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
