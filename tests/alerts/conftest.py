from __future__ import annotations

import pytest


@pytest.fixture
def inbox(smtp_server, settings):
    """The real SMTP server this process's email goes to, emptied for each test."""
    # pytest-django swaps in the in-memory backend; these tests want real SMTP.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "http://testserver"
    smtp_server.clear()
    return smtp_server
