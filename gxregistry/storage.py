"""Storage for files only their owners and administrators may read (settings.STORAGES["private"])."""

from django.core.files.storage import storages


def private_storage():
    # A callable, so migrations do not record the location and tests can point it elsewhere.
    return storages["private"]
