"""Keep guests' manage-link tokens out of logs: Django logs the path of every 4xx/5xx
(`django.request`) and runserver every request (`django.server`), and a token in a path is
a key to someone's booking."""

import logging
import re

MANAGE_TOKEN = re.compile(r"(/manage/)[^/\s\"?]+")


class ManageTokenRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/manage/" in message:
            record.msg, record.args = MANAGE_TOKEN.sub(r"\1[token]", message), ()
        return True
