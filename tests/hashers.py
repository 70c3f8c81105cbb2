"""A password hasher for the test process only."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneIterationPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2-SHA256 with one iteration instead of Django's 1,000,000 (~0.55 s per hash
    on the CI machine, paid by every test that makes a user). Its hashes carry their
    iteration count (`pbkdf2_sha256$1$...`), so the production hasher in the processes
    a test starts (gunicorn, workers) still verifies them, and re-hashes them at full
    strength on a successful login, as it would any hash of an older iteration count."""

    iterations = 1
