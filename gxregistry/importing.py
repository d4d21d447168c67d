"""Reading the files people upload: UTF-8, UTF-8 with BOM, Shift_JIS/CP932, XLSX.

Japanese Excel writes CSV in CP932 unless told otherwise, so text files are
decoded as UTF-8 first and CP932 second; anything else is refused with a
message saying how to save the file, and nothing is imported.
"""

from django.utils.translation import gettext as _
from import_export.formats.base_formats import CSV, XLSX

TEXT_ENCODINGS = ("utf-8-sig", "cp932")
IMPORT_FORMATS = [CSV, XLSX]
FORMATS_BY_EXTENSION = {fmt().get_extension(): fmt for fmt in IMPORT_FORMATS}


class UnreadableFile(ValueError):
    pass


def encoding_message() -> str:
    return _(
        "The file is neither UTF-8 nor Shift_JIS (CP932). In Excel, save it as “CSV UTF-8” and upload it again."
    )


def decode_text(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text" and some tools write UTF-16 with a BOM
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile(encoding_message()) from None
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(encoding_message())


def read_dataset(data: bytes, file_format):
    """A tablib Dataset from uploaded bytes; raises UnreadableFile with a clear message."""
    fmt = file_format()
    try:
        if fmt.is_binary():
            return fmt.create_dataset(data)
        return fmt.create_dataset(decode_text(data))
    except UnreadableFile:
        raise
    except Exception as exc:  # tablib/openpyxl raise many types for a broken file
        raise UnreadableFile(
            _("The file could not be read as %(format)s (%(error)s).")
            % {"format": fmt.get_title(), "error": type(exc).__name__}
        ) from exc


class JapaneseTextImportMixin:
    """For ImportExportModelAdmin: store uploads as UTF-8 whatever they came in."""

    formats = IMPORT_FORMATS
    from_encoding = "utf-8-sig"

    def write_to_tmp_storage(self, import_file, input_format):
        if input_format.is_binary():
            return super().write_to_tmp_storage(import_file, input_format)
        data = b"".join(import_file.chunks())
        try:
            text = decode_text(data)
        except UnreadableFile:
            text = None
        storage = self.get_tmp_storage_class()(
            encoding=self.from_encoding, read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        # An undecodable file is stored as it came; reading it then fails and
        # add_data_read_fail_error_to_form shows the encoding message.
        storage.save(text.encode("utf-8") if text is not None else data)
        return storage

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, UnicodeDecodeError):
            form.add_error("import_file", encoding_message())
            return
        super().add_data_read_fail_error_to_form(form, e)
