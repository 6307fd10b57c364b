"""Personal data (customer name, phone, email) is masked or hashed as it is loaded.

The protection happens in the load itself, so the clear values never reach any table of the
warehouse (raw, quarantine, marts), unless the configuration says `keep` for a trusted
warehouse. Hashing uses a secret salt, so a phone number cannot be found again by hashing every
possible number; the same value and salt always give the same hash, so hashed columns still
join across runs and systems.
"""

import re
from dataclasses import dataclass
from typing import Literal

PersonalKind = Literal["name", "phone", "email"]
PrivacyMode = Literal["mask", "hash", "keep"]


# Header names (snake case, ingest.loader.snake_case) that hold personal data whatever the
# source: a phone, an e-mail or a person's name. Columns outside the contract are not loaded
# into raw, but quarantine keeps every column of a rejected row, so these are protected there.
_PERSONAL_HEADERS: tuple[tuple[PersonalKind, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(^|_)e_?mail(_|$)|邮箱|电子邮件")),
    ("phone", re.compile(r"(^|_)(phone|mobile|tel|telephone|cell|cellphone|fax)(_|$)|手机|电话")),
    (
        "name",
        re.compile(
            r"^((customer|contact|full|first|last|given|family|person|member)_)?name$"
            r"|^(first|last|given|family|sur)name$|姓名|名字"
        ),
    ),
)


def personal_kind(header: str) -> PersonalKind | None:
    """The kind of personal data a column named `header` (snake case) holds, if it names one."""
    for kind, pattern in _PERSONAL_HEADERS:
        if pattern.search(header):
            return kind
    return None


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _masked(value: str, kind: PersonalKind) -> str:
    if kind == "name":  # 张三 → 张*, Alice → A****
        return f"left({value}, 1) || repeat('*', greatest(length({value}) - 1, 1))"
    if kind == "phone":  # the last four digits stay, for a caller to recognise the number
        return f"repeat('*', greatest(length({value}) - 4, 0)) || right({value}, 4)"
    # email: the first letter and the domain stay
    at = f"strpos({value}, '@')"
    return (
        f"CASE WHEN {at} > 1 THEN left({value}, 1) || '***' || substr({value}, {at}) ELSE '***' END"
    )


def _normalised(value: str, kind: PersonalKind) -> str:
    """One spelling per value before hashing: the same phone or email hashes the same."""
    if kind == "phone":
        return f"regexp_replace({value}, '[^0-9+]', '', 'g')"
    if kind == "email":
        return f"lower(trim({value}))"
    return f"trim({value})"


@dataclass(frozen=True)
class Privacy:
    mode: PrivacyMode = "mask"
    salt: str = ""

    def __post_init__(self) -> None:
        if self.mode == "hash" and not self.salt:
            raise ValueError("personal data mode 'hash' needs a salt")

    def protect_sql(self, value: str, kind: PersonalKind) -> str:
        """SQL for the protected form of the varchar expression `value` (NULL stays NULL)."""
        if self.mode == "keep":
            return value
        if self.mode == "hash":
            protected = f"sha256({_lit(self.salt)} || ':' || {_normalised(value, kind)})"
        else:
            protected = _masked(value, kind)
        return f"CASE WHEN {value} IS NULL THEN NULL ELSE {protected} END"
