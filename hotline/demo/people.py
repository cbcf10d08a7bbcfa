"""The demo people (DESIGN.md §6): the same names in the demo, the tests and the docs."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from hotline.accounts.models import User
from hotline.directory.models import Unit

# Demo only: the password rules (settings.AUTH_PASSWORD_VALIDATORS) refuse it for any password set
# through a form, and a production setup refuses to give it to anyone (``_hashed``).
DEMO_PASSWORD = "hotline12345"

# username, display name, role, unit short name
PEOPLE = [
    ("operator_li", "李", "operator", None),
    ("dispatcher_wang", "王", "dispatcher", None),
    ("handler_zhao", "赵", "handler", "杨楼镇"),
    ("handler_qian", "钱", "handler", "寄料镇"),
    ("handler_sun", "孙", "handler", "住房和城乡建设局"),
    ("supervisor_zhou", "周", "supervisor", None),
    ("auditor_wu", "吴", "auditor", None),
    ("admin", "管理员", "admin", None),
]


class WeakDemoPassword(Exception):
    """The demo's people would get a password the rules refuse, on a production setup."""


@lru_cache(maxsize=4)
def _hashed(password: str) -> str:
    # One slow PBKDF2 hash shared by all demo accounts: a hundred handler accounts would
    # otherwise spend most of the demo's generation time hashing the same password.
    if settings.PRODUCTION:
        # The demo sets its people's passwords directly, past the forms' rules; on a production
        # database those accounts are real logins, so the rules apply (hotline demo --password …).
        try:
            validate_password(password)
        except ValidationError as exc:
            raise WeakDemoPassword("生产环境（HOTLINE_ENV=production）不为演示账号设置弱密码："
                                   + "；".join(exc.messages) + "。请用 --password 指定符合密码规则的密码。") from None
    return make_password(password)


def ensure_people(password: str = DEMO_PASSWORD) -> dict[str, User]:
    """Create (or reset the password of) the demo people; return them by username."""
    units = {u.short_name: u for u in Unit.objects.all()}
    people = {}
    for username, display, role, unit_name in PEOPLE:
        user = User.objects.filter(username=username).first() or User(username=username)
        user.display_name, user.role = display, role
        user.unit = units[unit_name] if unit_name else None
        user.is_staff = user.is_superuser = role == "admin"
        user.password = _hashed(password)
        user.save()
        people[username] = user
    return people


def unit_handler(unit: Unit, password: str = DEMO_PASSWORD) -> User:
    """A handler account for a unit without a named demo person (handler_<unit code>)."""
    existing = User.objects.filter(role="handler", unit=unit).order_by("id").first()
    if existing:
        return existing
    user = User(username=f"handler_{unit.code.lower()}", display_name=f"{unit.short_name}承办人",
                role="handler", unit=unit)
    user.password = _hashed(password)
    user.save()
    return user
