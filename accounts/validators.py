"""Validators for identifiers the registry receives from outside."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
from stdnum.jp import cn


def normalise_corporate_number(value: str) -> str:
    """Strip the separators people type (spaces, hyphens, full-width digits)."""
    import unicodedata

    return cn.compact(unicodedata.normalize("NFKC", value or ""))


def validate_corporate_number(value: str) -> None:
    """A 法人番号 is 13 digits whose first digit is a check digit (stdnum.jp.cn)."""
    try:
        cn.validate(normalise_corporate_number(value))
    except InvalidLength:
        raise ValidationError(
            _("A corporate number has exactly 13 digits."), code="corporate_number_length"
        ) from None
    except InvalidFormat:
        raise ValidationError(
            _("A corporate number contains digits only."), code="corporate_number_format"
        ) from None
    except InvalidChecksum:
        raise ValidationError(
            _("This corporate number's check digit is wrong; please check the number."),
            code="corporate_number_checksum",
        ) from None


def synthetic_corporate_number(index: int, prefix: int = 7) -> str:
    """A valid-looking 法人番号 for demo and test data (prefix 7 is far from real registrations' ranges)."""
    body = f"{prefix}{index:011d}"
    return cn.calc_check_digit(body) + body


def normalise_kana(value: str) -> str:
    """Readings as the registry stores and searches them: full-width katakana (NFKC turns half-width ｶﾅ into
    カナ; hiragana becomes katakana), so かんさい, カンサイ and ｶﾝｻｲ find the same company."""
    import unicodedata

    text = unicodedata.normalize("NFKC", value or "").strip()
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def validate_kana(value: str) -> None:
    """A reading (フリガナ) is katakana, the long-vowel mark, spaces and the middle dot."""
    import re

    if value and not re.fullmatch(r"[ァ-ヺー・ 　]+", normalise_kana(value)):
        raise ValidationError(_("Write the reading in katakana (or hiragana), e.g. ニホンセイテツ."),
                              code="kana")
