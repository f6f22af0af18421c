"""``python -m bot inbox …``: run the inbox web app, create staff accounts.

Passwords come from INBOX_ADMIN_PASSWORD or standard input (never the command line, where
other users of the machine could read them in the process list).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from bot.cli import CliError
from bot.inbox.auth import ROLES, AccountError

DEFAULT_PORT = 5080


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="action")
    serve = sub.add_parser("serve", help="run the inbox and the web chat (loopback only)")
    serve.add_argument("--port", type=int,
                       default=int(os.environ.get("INBOX_PORT", DEFAULT_PORT)))
    serve.add_argument("--host", default=os.environ.get("INBOX_HOST", "127.0.0.1"))
    admin = sub.add_parser("create-admin", help="create an admin account")
    admin.add_argument("username")
    admin.add_argument("--language", choices=("nl", "en"), default="nl")
    user = sub.add_parser("create-user", help="create a staff account")
    user.add_argument("username")
    user.add_argument("--role", choices=ROLES, default="worker")
    user.add_argument("--language", choices=("nl", "en"), default="nl")


def _password() -> str:
    password = os.environ.get("INBOX_ADMIN_PASSWORD")
    if password:
        return password
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise CliError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def run(args: argparse.Namespace) -> int:
    if args.action == "serve":
        from bot.inbox.app import main

        main(args.port, args.host)
        return 0
    from bot import db
    from bot.inbox import auth

    role = "admin" if args.action == "create-admin" else args.role
    db.upgrade()
    try:
        with db.session_scope() as session:
            auth.create_user(session, args.username, _password(), role=role,
                             language=args.language, by="cli")
    except AccountError as exc:
        messages = {"password_short": f"password shorter than {auth.MIN_PASSWORD} characters",
                    "username_invalid": "username: 2-64 of a-z 0-9 . _ -",
                    "username_taken": "that username exists already",
                    "role_invalid": "unknown role"}
        raise CliError(messages.get(exc.code, exc.code)) from None
    print(f"created {role} {args.username.strip().lower()}")
    return 0
