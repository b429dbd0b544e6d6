"""Mask secrets in locations and messages before they are printed, logged, reported or stored.

Masked (the value is replaced by `***`; scheme, host, port, path, database and user stay readable):

- a URL's password: `scheme://user:***@host/...`, also when the `:` is written `%3A`, when the password
  holds `@`, `:` or `/` (the userinfo runs to the last `@`), and when the scheme is mistyped or missing
  (`u:pw@h/db` -> `u:***@h/db`). An empty password is masked too, so the output never tells.
- the value of every `name=value` whose name is secret-looking, in URL queries (`?a=1&token=...`), JDBC
  parameters (`;password=...;`), libpq DSNs (`host=h password=p`, `password = 'p w'`) and free text.
  A name is secret-looking when, case-insensitively, it is one of SECRET_NAMES or ends with one of
  SECRET_NAME_SUFFIXES: this covers password, passwd, pwd, api_key, apikey, token, access_token,
  X-Amz-Security-Token, secret, client_secret, key, signature, X-Amz-Signature, X-Amz-Credential, sig,
  auth. `=` and the separators may be percent-encoded (`%3D`, `%26`, `%3B`). A value runs to
  whitespace or to the next `&` or `;` that starts another `name=`: a password holding `&`, `;` or
  `=` is masked whole unless what follows the `&` or `;` looks like a parameter.

When in doubt it masks: a URL with a port and an `@` later in its path shows as `host:***@...`.
Not masked: secrets without a name or a URL around them (a bare token given as a URL's user name, a
JSON document's fields, HTTP headers); in free text (redact_text) a URL ends at whitespace, so the part
of a URL password after a space. Nothing here imports pyspark.

    python -m spacex_launches.common.redact             # a filter: stdin to stdout, masked line by line
    python -m spacex_launches.common.redact CMD ARG...  # print the command masked, then run it (exec)
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import sys

MASK = "***"

SECRET_NAMES = frozenset({"pass", "sig", "auth", "authorization"})
SECRET_NAME_SUFFIXES = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "signature",
    "credential",
    "credentials",
)

_EQUALS = r"\s*(?:=|%3[dD])\s*"
_SEPARATOR = r"(?:[&;]|%26|%3[bB])"
_NAME = r"[A-Za-z_][\w.-]*"
_SECRET_NAME = (
    rf"(?i:(?:[A-Za-z_][\w.-]*?)?(?:{'|'.join(SECRET_NAME_SUFFIXES)})|{'|'.join(sorted(SECRET_NAMES))})"
)
# A secret name at the start of a name (after a separator, maybe percent-encoded), `=`, and its value:
# quoted (libpq) or running lazily to whitespace or the end (a closing quote and a `:` before it
# excepted), or to a separator that starts the next name=value.
_PARAMETER = re.compile(
    rf"(?:(?<=%26)|(?<=%3[bBfF])|(?<![\w.%-]))(?P<name>{_SECRET_NAME})(?P<equals>{_EQUALS})"
    rf"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|.*?(?=['\"]?:?(?:\s|$)|{_SEPARATOR}{_NAME}{_EQUALS}))",
    re.DOTALL,
)
_SCHEME = re.compile(r"[A-Za-z][\w+.-]*(?::[A-Za-z][\w+.-]*)*://")
_USERINFO_COLON = re.compile(r":|%3[aA]")


def _mask_parameter(match: re.Match) -> str:
    return f"{match['name']}{match['equals']}{MASK}"


def _mask_userinfo(location: str) -> str:
    """`...user:password@rest` -> `...user:***@rest`, taking the last `@` (a password may hold one)."""
    at = location.rfind("@")
    if at < 0:
        return location
    head = location[:at]
    scheme = _SCHEME.search(head)
    start = scheme.end() if scheme else 0
    colon = _USERINFO_COLON.search(head, start)
    if colon is None:
        return location  # a user name without a password
    return f"{head[: colon.start()]}:{MASK}{location[at:]}"


def redact_location(location: str) -> str:
    """One location or spec (URL, JDBC URL, DSN, path, warehouse spec) with its secrets masked.

    The whole string is one location: a password with spaces or a mistyped scheme is still masked."""
    return _mask_userinfo(_PARAMETER.sub(_mask_parameter, str(location)))


def redact_text(text: str) -> str:
    """Free text (an error message, a log line) with the secrets of any locations in it masked."""
    masked = _PARAMETER.sub(_mask_parameter, str(text))
    return re.sub(r"\S+", lambda word: _mask_userinfo(word[0]), masked)


class RedactingFilter(logging.Filter):
    """A handler filter that masks secrets in each record's message and traceback (for example a
    library's debug line with a URL's query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


def carries_secret(location: str) -> bool:
    return redact_location(location) != location


def command_line(argv: list[str]) -> str:
    """A command as a shell line, each argument masked as a location."""
    return shlex.join(redact_location(argument) for argument in argv)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        for line in sys.stdin:
            sys.stdout.write(redact_text(line))
        return 0
    print(command_line(argv), flush=True)
    try:
        os.execvp(argv[0], argv)  # replaces this process
    except OSError as exc:
        print(f"{redact_location(argv[0])}: {exc.strerror}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
