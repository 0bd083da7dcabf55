"""A cheap Argon2 for the test suite: same algorithm and hash format, a fraction of the cost.

Django's default Argon2 parameters (100 MiB, 2 passes) are right for production and make every
test that creates a user take a second.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1
