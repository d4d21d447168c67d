"""Files people upload as evidence or public documents: the type is read from the first bytes, not the name;
the size is bounded; the SHA-256 is kept; and a file written for a transaction that rolls back is removed."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from gxregistry.errors import ErrorCode, RegistryError

PDF = {"pdf": ("application/pdf", b"%PDF-")}
XLSX = {"xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04")}


@dataclass(frozen=True)
class CheckedUpload:
    extension: str
    content_type: str
    sha256: str
    size: int
    original_name: str


def _refuse(message, field):
    raise RegistryError(ErrorCode.INVALID_INPUT, message, field)


def upload_check(upload, *, types: dict, max_bytes: int, field: str = "file") -> CheckedUpload:
    """Refuse (naming ``field``) unless ``upload`` is one of ``types`` ({extension: (content type, magic)})
    by its content and at most ``max_bytes``; otherwise what is known about it."""
    if upload is None:
        _refuse(_("Choose a file."), field)
    extension = Path(upload.name or "").suffix.lower().lstrip(".")
    if extension not in types:
        _refuse(_("Upload a %(types)s file.") % {"types": " / ".join(t.upper() for t in types)}, field)
    if upload.size > max_bytes:
        _refuse(_("The file is larger than %(size)s MB.") % {"size": max_bytes // (1024 * 1024)}, field)
    content_type, magic = types[extension]
    head = upload.read(len(magic))
    upload.seek(0)
    if head != magic:
        _refuse(_("The file's content is not a %(type)s file.") % {"type": extension.upper()}, field)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(extension, content_type, digest.hexdigest(), upload.size, Path(upload.name).name[:255])


def save_with_file(instance, field_name: str, upload, checked: CheckedUpload) -> None:
    """Store the file under a name that says nothing about its owner, then save the row; if the row's save
    fails, the file is removed (nobody would keep it)."""
    file = getattr(instance, field_name)
    file.save(f"{checked.sha256[:16]}.{checked.extension}", upload, save=False)
    stored = file.name
    try:
        instance.save()
    except Exception:
        file.storage.delete(stored)
        raise
