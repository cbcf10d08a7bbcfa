"""Password rules the English lists do not cover: the passwords Chinese users pick, and two kinds
of characters (GB/T 22239-2019 asks for 口令复杂度).

The list of common passwords is generated here from the patterns such passwords follow: pinyin
words and names, the hotline's own words, keyboard walks, digit runs, and the numbers people add
to them (123, 520, 1314, 888, years). Generating it keeps it short, explainable and ours; Django's
CommonPasswordValidator still checks its own English list next to it.
"""

from __future__ import annotations

from functools import lru_cache

from django.core.exceptions import ValidationError

# Pinyin words and names, and the platform's own words, that people build passwords from.
WORDS = (
    "woaini", "aini", "nihao", "mima", "mimamima", "zhongguo", "china", "beijing", "shanghai", "henan",
    "ruzhou", "pingdingshan", "zhangwei", "wangwei", "wangfang", "liwei", "lina", "liuyang", "zhangsan",
    "lisi", "wangwu", "zhaoliu", "wangyang", "xiaoming", "laoban", "baobao", "tiantian", "kaixin",
    "xingfu", "pingan", "fuwu", "zhengfu", "zhengwu", "shimin", "rexian", "hotline", "minhubiying",
    "gongzuo", "danwei", "bangong", "admin", "administrator", "root", "user", "guest", "test", "demo",
    "password", "passw0rd", "pass", "qwerty", "asdfgh", "zxcvbn", "qweasd", "qweasdzxc", "iloveyou",
    "love", "abc", "abcd", "abcdef", "huawei", "xiaomi", "baidu", "taobao", "weixin", "qq",
)
# What people put after (or before) a word.
AFFIXES = (
    "", "1", "12", "123", "1234", "12345", "123456", "12345678", "123456789", "111", "666", "888",
    "999", "000", "520", "521", "1314", "5201314", "2008", "2020", "2021", "2022", "2023", "2024",
    "2025", "2026", "2027", "@123", "!@#", "!", ".", "@", "#",
)
# Keyboard walks and alternating patterns.
WALKS = (
    "qwertyuiop", "qwertyui", "asdfghjkl", "zxcvbnm", "1qaz2wsx", "1qaz2wsx3edc", "zaq12wsx", "1q2w3e4r",
    "1q2w3e4r5t", "1q2w3e", "q1w2e3r4", "a1b2c3", "a1b2c3d4", "a1b2c3d4e5", "abc123", "abc123456",
    "aaa111", "aa123456", "qq123456", "147258369", "159357", "741852963", "369258147", "147258",
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The generated list, lower-case."""
    found: set[str] = set(WALKS)
    found.update(affix for affix in AFFIXES if len(affix) >= 6)
    for word in WORDS:
        for affix in AFFIXES:
            found.update((word + affix, affix + word))
    for digit in "0123456789":
        found.update(digit * n for n in range(6, 13))
    runs = "01234567890"
    for start in range(2):
        for end in range(start + 6, len(runs) + 1):
            found.add(runs[start:end])
            found.add(runs[start:end][::-1])
    for pair in ("12", "123", "1234", "520", "521", "1314", "168", "518", "888"):
        found.update(pair * n for n in range(2, 7) if len(pair * n) >= 6)
    found.update(f"{w}{n}" for w in WALKS for n in ("", "!", "."))
    return frozenset(found)


class ChineseCommonPasswordValidator:
    """Refuses a password of the generated list, whatever its case, with spaces around trimmed."""

    def validate(self, password, user=None):
        if password.strip().lower() in common_passwords():
            raise ValidationError("该密码过于常见（如 123456、woaini1314、hotline12345），请换一个。",
                                  code="password_too_common_zh")

    def get_help_text(self):
        return "密码不能是常见密码（拼音、键盘连续键、重复数字等）。"


class CharacterClassesValidator:
    """At least two kinds of characters: letters, digits, others."""

    def validate(self, password, user=None):
        kinds = (any(c.isalpha() for c in password),
                 any(c.isdigit() for c in password),
                 any(not c.isalnum() for c in password))
        if sum(kinds) < 2:
            raise ValidationError("密码须包含字母、数字、符号中的至少两种。", code="password_one_kind")

    def get_help_text(self):
        return "密码须包含字母、数字、符号中的至少两种。"
