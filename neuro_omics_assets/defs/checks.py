"""Asset checks: each name says what it asserts."""

CHECKS: list = []
